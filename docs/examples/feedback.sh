API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
SHEBAO=${SHEBAO:-cargo run --release -q -p shebao-api --}  # the `shebao` binary
PHONE=+8613800138003
sms_code() { curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }

# Sign up, step up and bind 陈静, employed in Shenzhen (440300).
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"register\"}"; echo
ACCESS=$(curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"code\":\"$(sms_code)\",\"password\":\"a long passphrase\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"step_up\"}"; echo
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code)\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"440300197205300665","name":"陈静","card_number":"A44030000005"}'; echo

# She complains about the wait at a service hall. The body is plain text, kept exactly as
# written (line breaks included); the Idempotency-Key makes a retry over a bad connection safe.
THREAD=$(jq -n '{kind: "complaint", subject: "窗口办理等候时间过长", related: null,
    body: "上午在福田区社保服务大厅办理业务，取号后等候了两个多小时。\n希望增加上午的窗口。"}' \
  | curl -sf -X POST "$API/v1/me/feedback" -H "authorization: Bearer $ACCESS" \
      -H "Idempotency-Key: complaint-$(date +%s)" -H 'content-type: application/json' --data-binary @-)
echo "$THREAD" | jq -c '{kind, status, subject, authors: [.messages[].author]}'
ID=$(echo "$THREAD" | jq -r .id)

# A caseworker for Shenzhen answers complaints: they see only that region's threads. The
# password is typed at the prompt and handed over on standard input, as for the admin above.
read -rsp 'Choose a password for the caseworker: ' STAFF_PASSWORD; echo
printf '%s\n' "$STAFF_PASSWORD" | $SHEBAO admin create-staff --username complaints --role caseworker --region 440300
CASEWORKER=$(printf '%s' "$STAFF_PASSWORD" | jq -Rs '{username: "complaints", password: .}' \
  | curl -sf -X POST "$API/v1/staff/auth/login" -H 'content-type: application/json' --data-binary @- \
  | jq -r .access_token)
unset STAFF_PASSWORD

# The region's queue, the longest waiting first; `overdue` once five working days have passed.
# The answer makes the thread `answered` and texts her (in daylight) that there is one.
curl -s "$API/v1/staff/feedback?status=open" -H "authorization: Bearer $CASEWORKER" \
  | jq -c '{queue: [.items[] | {id, kind, subject, overdue}]}'
jq -n '{body: "您好，已核实情况。自下周一起工作日上午增开两个窗口，给您带来不便，深表歉意。"}' \
  | curl -sf -X POST "$API/v1/staff/feedback/$ID/messages" -H "authorization: Bearer $CASEWORKER" \
      -H 'content-type: application/json' --data-binary @- | jq -c '{status, overdue}'

# 陈静 reads the answer (signed with the caseworker's role, never a name) and rates it, once:
#   curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -c '[.messages[].body | select(contains("答复"))]'
curl -s "$API/v1/me/feedback/$ID" -H "authorization: Bearer $ACCESS" \
  | jq -c '{status, answered: (.answered_at != null), messages: [.messages[] | {author, body}]}'
curl -sf -X POST "$API/v1/me/feedback/$ID/rating" -H "authorization: Bearer $ACCESS" \
  -H 'content-type: application/json' -d '{"stars":5,"comment":"答复及时。"}' | jq -c '{status, stars: .rating.stars}'
