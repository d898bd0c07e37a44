API=${API:-localhost:8080}                             # where the service listens
SHEBAO=${SHEBAO:-cargo run --release -q -p shebao-api --}  # the `shebao` binary

# An admin account. The password is typed at the prompt (not echoed) and handed over on
# standard input, so it is in neither the shell history nor the process list.
read -rsp 'Choose a password for admin: ' STAFF_PASSWORD; echo
printf '%s\n' "$STAFF_PASSWORD" | $SHEBAO admin create-staff --username admin --role admin

# Sign in (the body goes on standard input too) and keep the access token.
TOKEN=$(printf '%s' "$STAFF_PASSWORD" | jq -Rs '{username: "admin", password: .}' \
  | curl -sf -X POST "$API/v1/staff/auth/login" -H 'content-type: application/json' --data-binary @- \
  | jq -r .access_token)
unset STAFF_PASSWORD

curl -s "$API/v1/staff/regions" -H "authorization: Bearer $TOKEN"; echo
curl -s "$API/v1/staff/regions/440300" -H "authorization: Bearer $TOKEN"; echo

# Register a new person (fictional: the ID number has a valid check character).
curl -s -X POST "$API/v1/staff/persons" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"national_id":"11010519491231002X","name":"张三","region":"440300","card_number":"A44030000099","medical_category":"employee","employment_status":"employed"}'; echo
