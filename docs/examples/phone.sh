API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
PHONE=+8613800138000
# The newest 6-digit code the stand-in delivered to $PHONE (on a real phone: read the SMS).
sms_code() { curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }
# The current code of an authenticator app holding the base32 secret $1 (RFC 6238).
totp() { python3 -c 'import base64,hmac,struct,sys,time
k = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
h = hmac.digest(k, struct.pack(">Q", int(time.time()) // 30), "sha1"); o = h[-1] & 15
print("%06d" % ((int.from_bytes(h[o:o + 4], "big") & 0x7fffffff) % 1000000))' "$1"; }

# Sign up with an SMS code.
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"register\"}"; echo
ACCESS=$(curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"code\":\"$(sms_code)\",\"password\":\"a long passphrase\"}" | jq -r .access_token)

# Step up with a second SMS code: an access token that counts as stepped up for five minutes.
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"step_up\"}"; echo
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code)\"}" | jq -r .access_token)

# Bind the demo person's ID card, then read their records.
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"440300198603120277","name":"张伟","card_number":"A44030000001"}'; echo
curl -s "$API/v1/me/contributions/summary" -H "authorization: Bearer $ACCESS"; echo
curl -s "$API/v1/me/accounts/medical/transactions?limit=3" -H "authorization: Bearer $ACCESS"; echo

# Switch on an authenticator app (also needs the stepped-up token): scan the secret, confirm a code.
SECRET=$(curl -sf -X POST "$API/v1/me/totp" -H "authorization: Bearer $STEPPED" | jq -r .secret)
curl -s -X POST "$API/v1/me/totp/confirm" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d "{\"code\":\"$(totp "$SECRET")\"}" | jq -c '{recovery_codes: (.recovery_codes | length)}'

# From now on signing in asks for the app's code. Each code works once: wait for the next one.
MFA_TOKEN=$(curl -sf -X POST "$API/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"password\":\"a long passphrase\"}" | jq -r .mfa_token)
sleep $((31 - $(date +%s) % 30))
curl -s -X POST "$API/v1/auth/login/mfa" -H 'content-type: application/json' \
  -d "{\"mfa_token\":\"$MFA_TOKEN\",\"totp_code\":\"$(totp "$SECRET")\"}" | jq -c '{token_type, expires_in}'
