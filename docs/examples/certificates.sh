API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
PHONE=+8613800138006
sms_code() { curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }

# Sign up, step up and bind 杨帆, employed in Shenzhen since 2014.
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"register\"}"; echo
ACCESS=$(curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"code\":\"$(sms_code)\",\"password\":\"a long passphrase\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"step_up\"}"; echo
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code)\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"440300198409090019","name":"杨帆","card_number":"A44030000006"}'; echo

# A certificate of every month from 2014 to this one (Beijing time): the PDF is made now and kept.
ISSUED=$(curl -sf -X POST "$API/v1/me/certificates" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"kind\":\"contribution_history\",\"from\":\"2014-01\",\"to\":\"$(TZ=Asia/Shanghai date +%Y-%m)\"}")
echo "$ISSUED" | jq -c '{id, pdf_url, expires_at}'
ID=$(echo "$ISSUED" | jq -r .id)

# Download it (only its owner can) and read it (`pdftotext` comes with poppler-utils).
PDF=$(mktemp -d)/certificate.pdf
curl -sf "$API/v1/me/certificates/$ID.pdf" -H "authorization: Bearer $ACCESS" -o "$PDF"
if command -v pdftotext >/dev/null; then pdftotext -layout "$PDF" - | sed -n 1,24p; fi

# What anyone who scans its QR code gets (no sign-in), checking their copy by its SHA-256:
VERIFY=$(echo "$ISSUED" | jq -r .verify_url)
curl -s "$VERIFY&sha256=$(sha256sum "$PDF" | cut -d' ' -f1)" | jq -c '{valid, kind, issued_to, national_id, period, sha256}'
# An altered copy does not verify:
printf 'x' >> "$PDF"
curl -s "$VERIFY&sha256=$(sha256sum "$PDF" | cut -d' ' -f1)" | jq -c '{valid, reason}'

# His certificates, newest first; he revokes this one, and from then on it does not verify.
curl -s "$API/v1/me/certificates" -H "authorization: Bearer $ACCESS" | jq -c '[.items[] | {id, kind, revoked_at}]'
curl -s -X POST "$API/v1/me/certificates/$ID/revoke" -H "authorization: Bearer $ACCESS" | jq -c '{revoked: (.revoked_at != null)}'
curl -s "$VERIFY" | jq -c '{valid, reason}'
