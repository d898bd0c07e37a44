API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
SHEBAO=${SHEBAO:-cargo run --release -q -p shebao-api --}  # the `shebao` binary
PHONE=+8613800138018
sms_code() { curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }

# Sign up, step up and bind 李娜, employed in Shenzhen (440300), born in 1990.
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"register\"}"; echo
ACCESS=$(curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"code\":\"$(sms_code)\",\"password\":\"a long passphrase\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"step_up\"}"; echo
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code)\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"440300199007010420","name":"李娜","card_number":"A44030000002"}'; echo

# A caseworker for Shenzhen: they publish notices for that region only. The password is typed
# at the prompt and handed over on standard input, as for the admin above.
read -rsp 'Choose a password for the caseworker: ' STAFF_PASSWORD; echo
printf '%s\n' "$STAFF_PASSWORD" | $SHEBAO admin create-staff --username notices --role caseworker --region 440300
CASEWORKER=$(printf '%s' "$STAFF_PASSWORD" | jq -Rs '{username: "notices", password: .}' \
  | curl -sf -X POST "$API/v1/staff/auth/login" -H 'content-type: application/json' --data-binary @- \
  | jq -r .access_token)
unset STAFF_PASSWORD

# A training notice for employed persons of 30 to 45 in Shenzhen, shown for two weeks and also
# sent by SMS (in daylight, at most three reminders a phone and day, not to accounts that turned
# `notices` off in /v1/me/notification-preferences).
NOTICE=$(jq -n '{kind: "training", title: "深圳市职工技能提升补贴开始申领",
    body: "取得职业资格证书或职业技能等级证书的在职参保职工，可在证书核发之日起12个月内申领技能提升补贴。",
    link: "https://hrss.sz.gov.cn/",
    audience: {regions: ["440300"], employment_status: ["employed"], age_min: 30, age_max: 45},
    expire_at: (now + 14 * 86400 | todate), send_sms: true}' \
  | curl -sf -X POST "$API/v1/staff/notices" -H "authorization: Bearer $CASEWORKER" \
    -H 'content-type: application/json' --data-binary @-)
echo "$NOTICE" | jq -c '{kind, status, audience}'
ID=$(echo "$NOTICE" | jq -r .id)

# How many registered persons the rule reaches today (one count in the database).
curl -s "$API/v1/staff/notices/$ID/audience-size" -H "authorization: Bearer $CASEWORKER" | jq -c '{persons, as_of}'

# 李娜 sees the notices meant for her, newest first (this one and the demo's notice for
# everyone), marks this one read, and has one unread left. Her SMS:
#   curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -c '[.messages[].body | select(contains("通知："))]'
curl -s "$API/v1/me/notices?unread=true" -H "authorization: Bearer $ACCESS" | jq -c '[.items[] | {kind, title, read}]'
curl -s -X POST "$API/v1/me/notices/$ID/read" -H "authorization: Bearer $ACCESS" | jq -c '{title, read}'
curl -s "$API/v1/me/notices?unread=true" -H "authorization: Bearer $ACCESS" | jq -c '[.items[].title]'
