API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
SHEBAO=${SHEBAO:-cargo run --release -q -p shebao-api --}  # the `shebao` binary
PHONE=+8613800138002
sms_code() { curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }

# Sign up, step up and bind 刘洋, employed in Shenzhen (440300) since July 2016.
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"register\"}"; echo
ACCESS=$(curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"code\":\"$(sms_code)\",\"password\":\"a long passphrase\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"step_up\"}"; echo
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code)\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"440300199502143159","name":"刘洋","card_number":"A44030000004"}'; echo

# His contract ended today: he applies for unemployment benefit (失业保险金). The server checks
# the claim against his records at once; the Idempotency-Key makes a retry of this request safe.
APPLICATION=$(curl -sf -X POST "$API/v1/me/applications" -H "authorization: Bearer $ACCESS" \
  -H "Idempotency-Key: unemployment-$(date +%s)" -H 'content-type: application/json' \
  -d "{\"kind\":\"unemployment_benefit\",\"data\":{\"reason\":\"contract_ended\",\"last_day\":\"$(TZ=Asia/Shanghai date +%F)\"}}")
echo "$APPLICATION" | jq -c '{kind, status, region, next_step}'
ID=$(echo "$APPLICATION" | jq -r .id)

# A caseworker for Shenzhen: they see and decide only that region's applications. The password
# is typed at the prompt and handed over on standard input, as for the admin above.
read -rsp 'Choose a password for the caseworker: ' STAFF_PASSWORD; echo
printf '%s\n' "$STAFF_PASSWORD" | $SHEBAO admin create-staff --username caseworker --role caseworker --region 440300
CASEWORKER=$(printf '%s' "$STAFF_PASSWORD" | jq -Rs '{username: "caseworker", password: .}' \
  | curl -sf -X POST "$API/v1/staff/auth/login" -H 'content-type: application/json' --data-binary @- \
  | jq -r .access_token)
unset STAFF_PASSWORD

# The caseworker takes it from the region's queue and approves it: the months come from his
# contribution record (over ten years: 24), the amount is the region's monthly rate.
curl -s "$API/v1/staff/applications?status=submitted&kind=unemployment_benefit" -H "authorization: Bearer $CASEWORKER" \
  | jq -c '{queue: [.items[] | {id, status}]}'
curl -sf -X POST "$API/v1/staff/applications/$ID/transitions" -H "authorization: Bearer $CASEWORKER" \
  -H 'content-type: application/json' -d '{"to":"in_review"}' | jq -c '{status}'
curl -sf -X POST "$API/v1/staff/applications/$ID/transitions" -H "authorization: Bearer $CASEWORKER" \
  -H 'content-type: application/json' -d '{"to":"approved","note":"材料齐全"}' | jq -c '{status, decision}'

# 刘洋 follows every step (the caseworker's role, never their name) and sees the months in his
# benefits. Each step is also texted to him, by the jobs, between 08:00 and 21:00 Beijing time:
#   curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -c '[.messages[].body | select(contains("申请"))]'
curl -s "$API/v1/me/applications/$ID" -H "authorization: Bearer $ACCESS" \
  | jq -c '{status, timeline: [.timeline[] | {status, actor_role}]}'
curl -s "$API/v1/me/benefits" -H "authorization: Bearer $ACCESS" | jq -c '{awards, unemployment}'
