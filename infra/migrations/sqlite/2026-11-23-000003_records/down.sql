DROP TABLE pension_interest_credits;
DROP TABLE pension_interest_runs;
DROP TABLE benefit_payments;
DROP TABLE medical_transactions;
