# 张三's first month at 深圳市南山科技有限公司: a new row, so it is accepted.
ROW='{"national_id":"11010519491231002X","employer_credit_code":"91440300MA5F0000X1","period":"2026-10","insurance":"pension","declared_wage_fen":1200000,"paid_at":"2026-11-15T02:00:00Z"}'
printf '%s\n' "$ROW" | curl -s -X POST "$API/v1/staff/contributions:import" -H "authorization: Bearer $TOKEN" \
  -H 'content-type: application/x-ndjson' --data-binary @-; echo    # → {"accepted":1,"unchanged":0,"rejected":[],"rejected_total":0}
# The same row again changes nothing.
printf '%s\n' "$ROW" | curl -s -X POST "$API/v1/staff/contributions:import" -H "authorization: Bearer $TOKEN" \
  -H 'content-type: application/x-ndjson' --data-binary @-; echo    # → {"accepted":0,"unchanged":1,"rejected":[],"rejected_total":0}
