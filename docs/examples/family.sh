API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
FATHER=+8613800138031
DAUGHTER=+8613900139031
sms_code() { curl -s "$SMS/messages?to=%2B${1#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }
signup() {  # $1: phone; prints an access token
  curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$1\",\"purpose\":\"register\"}" >/dev/null
  curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
    -d "{\"phone\":\"$1\",\"code\":\"$(sms_code "$1")\",\"password\":\"a long passphrase\"}" | jq -r .access_token
}

# The father signs up, steps up and binds his card.
FATHER_TOKEN=$(signup $FATHER)
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$FATHER\",\"purpose\":\"step_up\"}" >/dev/null
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $FATHER_TOKEN" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code $FATHER)\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"110000195803150415","name":"孙建国","card_number":"A11000000011"}' | jq -c .

# He grants his daughter's phone the reading of his records for 90 days (step-up needed).
EXPIRES=$(date -u -d '+90 days' +%Y-%m-%dT%H:%M:%SZ)
curl -s -X POST "$API/v1/me/proxies" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d "{\"phone\":\"$DAUGHTER\",\"relation\":\"child\",\"scopes\":[\"read_records\"],\"expires_at\":\"$EXPIRES\"}" | jq -c '{id, status}'

# The daughter signs up, sees the invitation (who it is from, masked) and accepts it.
DAUGHTER_TOKEN=$(signup $DAUGHTER)
curl -s "$API/v1/me/proxy-invitations" -H "authorization: Bearer $DAUGHTER_TOKEN" | jq -c '.items[0] | {id, principal, scopes}'
GRANT=$(curl -s "$API/v1/me/proxy-invitations" -H "authorization: Bearer $DAUGHTER_TOKEN" | jq -r '.items[0].id')
curl -s -X POST "$API/v1/me/proxy-invitations/$GRANT/accept" -H "authorization: Bearer $DAUGHTER_TOKEN" | jq -c '{id, status}'

# She takes a token acting for her father and reads his records (his pension payments too).
PROXY=$(curl -sf -X POST "$API/v1/me/proxies/$GRANT/token" -H "authorization: Bearer $DAUGHTER_TOKEN" | jq -r .access_token)
curl -s "$API/v1/me/contributions/summary" -H "authorization: Bearer $PROXY" | jq -c '{pension_contribution_months}'
curl -s "$API/v1/me/benefits?limit=2" -H "authorization: Bearer $PROXY" | jq -c '[.items[] | {period, kind, amount_fen}]'
# What the grant does not cover is refused.
curl -s "$API/v1/me/payables" -H "authorization: Bearer $PROXY" | jq -c '{status, code}'

# The father sees every action taken in his name, and from which device.
curl -s "$API/v1/me/proxy-activity" -H "authorization: Bearer $FATHER_TOKEN" \
  | jq -c '.items[] | {at, holder_phone, relation, method, route, status, device}'

# He revokes: the daughter's token is refused from the next request on.
curl -s -X DELETE "$API/v1/me/proxies/$GRANT" -H "authorization: Bearer $FATHER_TOKEN" | jq -c '{status}'
curl -s "$API/v1/me/contributions/summary" -H "authorization: Bearer $PROXY" | jq -c '{status, code}'
