API=${API:-localhost:8080}   # where the service listens
SMS=${SMS:-localhost:8081}   # the built-in SMS stand-in
PAY=${PAY:-localhost:8082}   # the built-in payment gateway stand-in

# His e-CNY wallet as payout account: pending until the cooling period is over, and texted to him.
ACCOUNTS=$(curl -sf -X PUT "$API/v1/me/payout-account" -H "authorization: Bearer $STEPPED" -H 'content-type: application/json' \
  -d '{"kind":"wallet","provider":"ecny","wallet_id":"0012345678901234"}')
echo "$ACCOUNTS" | jq -c .
sleep 3; curl -s "$SMS/messages?to=%2B${FATHER#+}" | jq -r '.messages[0].body'
sleep $(( $(date -d "$(echo "$ACCOUNTS" | jq -r .pending.effective_at)" +%s) - $(date +%s) + 1 ))
curl -s "$API/v1/me/payout-account" -H "authorization: Bearer $FATHER_TOKEN" | jq -c '{current: .current.number, pending}'

# The admin pays this month's pensions; running it again pays nobody twice.
MONTH=$(TZ=Asia/Shanghai date +%Y-%m)
RUN=$(curl -sf -X POST "$API/v1/staff/payouts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"period\":\"$MONTH\",\"benefit\":\"pension\"}")
echo "$RUN" | jq -c '{entitled, skipped_no_account, paid, failed}'
curl -s -X POST "$API/v1/staff/payouts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"period\":\"$MONTH\",\"benefit\":\"pension\"}" | jq -c '{already_paid, paid}'

# He sees it in his benefits, with its status and the masked wallet; the gateway has one transfer.
curl -s "$API/v1/me/benefits" -H "authorization: Bearer $FATHER_TOKEN" | jq -c '.payouts[0]'
curl -s "$PAY/control/transfers" | jq -c '[.transfers[] | {out_bill_no, state, transfer_amount, payee}]'
