API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
PAY=${PAY:-localhost:8082}   # the built-in payment gateway stand-in
SHEBAO=${SHEBAO:-cargo run --release -q -p shebao-api --}  # the `shebao` binary
PHONE=+8613800138001
sms_code() { curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }

# Sign up, step up and bind 王芳, who is in flexible employment and pays her own premiums.
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"register\"}"; echo
ACCESS=$(curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"code\":\"$(sms_code)\",\"password\":\"a long passphrase\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"step_up\"}"; echo
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code)\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"440300197911231089","name":"王芳","card_number":"A44030000003"}'; echo

# What she owes: her unpaid months (late ones with the late fee), the coming months, and next
# year's resident medical premium while its window is open. The server computes every amount.
curl -s "$API/v1/me/payables" -H "authorization: Bearer $ACCESS" | jq -c '{total_fen, items: [.items[] | {id, amount_fen}]}'

# Pay the first one. The Idempotency-Key makes a retry of this request safe.
FIRST=$(curl -s "$API/v1/me/payables" -H "authorization: Bearer $ACCESS" | jq -r '.items[0].id')
PAYMENT=$(curl -sf -X POST "$API/v1/me/payments" -H "authorization: Bearer $STEPPED" -H "Idempotency-Key: demo-$(date +%s)" \
  -H 'content-type: application/json' -d "{\"payables\":[\"$FIRST\"],\"channel\":\"wechat\"}")
echo "$PAYMENT" | jq -c '{status, amount_fen, out_trade_no}'

# The payer pays at the gateway (on a phone, the WeChat app does this with gateway.prepay_id);
# the stand-in's control API plays the payer and sends the signed notification.
curl -s -X POST "$PAY/control/orders/$(echo "$PAYMENT" | jq -r .out_trade_no)/pay" \
  -H 'content-type: application/json' -d '{"outcome":"SUCCESS","notify":1}' | jq -c '{trade_state}'
sleep 1
curl -s "$API/v1/me/payments/$(echo "$PAYMENT" | jq -r .id)" -H "authorization: Bearer $ACCESS" | jq -c '{status}'

# The day's reconciliation against the gateway's trade bill confirms it: paid, and posted.
$SHEBAO reconcile --date "$(TZ=Asia/Shanghai date +%F)" | jq -c '{confirmed, missing_here, missing_at_gateway}'
curl -s "$API/v1/me/payments/$(echo "$PAYMENT" | jq -r .id)" -H "authorization: Bearer $ACCESS" | jq -c '{status, timeline: [.timeline[].status]}'
