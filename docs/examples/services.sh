API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
PHONE=+8613800138010
sms_code() { curl -s "$SMS/messages?to=%2B${PHONE#+}" | jq -r '.messages[0].body' | grep -oE '[0-9]{6}' | head -n1; }

# Sign up, step up and bind 吴秀英, insured in Shenzhen (440300) under the employee scheme.
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"register\"}"; echo
ACCESS=$(curl -sf -X POST "$API/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"phone\":\"$PHONE\",\"code\":\"$(sms_code)\",\"password\":\"a long passphrase\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/auth/sms-codes" -H 'content-type: application/json' -d "{\"phone\":\"$PHONE\",\"purpose\":\"step_up\"}"; echo
STEPPED=$(curl -sf -X POST "$API/v1/me/step-up" -H "authorization: Bearer $ACCESS" -H 'content-type: application/json' \
  -d "{\"sms_code\":\"$(sms_code)\"}" | jq -r .access_token)
curl -s -X POST "$API/v1/me/binding" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"national_id":"440300197601051242","name":"吴秀英","card_number":"A44030000010"}'; echo

# Grade-3 hospitals with internal medicine (内科) within 5 km of Shenzhen's Civic Centre, nearest
# first: `covered` says whether her insurance pays there, `geo_uri` opens the phone's map app.
NEAR=$(curl -sf -G "$API/v1/institutions" -H "authorization: Bearer $ACCESS" -d lat=22.5431 -d lon=114.0579 \
  -d radius_km=5 -d kind=hospital -d level=3 --data-urlencode department=内科)
echo "$NEAR" | jq -c '[.items[] | {name, distance_m, covered, geo_uri}]'
HOSPITAL=$(echo "$NEAR" | jq -r '[.items[] | select(.covered)][0].code')

# The nearest covered one's internal-medicine slots from now on, with the places left.
SLOTS=$(curl -sf -G "$API/v1/institutions/$HOSPITAL/slots" --data-urlencode department=内科)
echo "$SLOTS" | jq -c '[.items[:4][] | {starts_at, places_left}]'
SLOT=$(echo "$SLOTS" | jq -r '[.items[] | select(.places_left == 1)][0].id')

# Book the last place of the first slot that has one left. The Idempotency-Key makes a retry
# safe; the day before, at 10:00, the jobs text her a reminder. Until the slot starts she may
# cancel (POST /v1/me/appointments/{id}/cancel), which gives the place back.
curl -s -X POST "$API/v1/me/appointments" -H "authorization: Bearer $ACCESS" \
  -H "Idempotency-Key: booking-$(date +%s)" -H 'content-type: application/json' -d "{\"slot_id\":\"$SLOT\"}" \
  | jq -c '{status, hospital: .institution.name, starts_at: .slot.starts_at, places_left: .slot.places_left}'
# The slot is full now: whoever tries next is answered 409 slot_full.
curl -s -G "$API/v1/institutions/$HOSPITAL/slots" --data-urlencode department=内科 \
  | jq -c --arg slot "$SLOT" '.items[] | select(.id == $slot) | {places_left}'
