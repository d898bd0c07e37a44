DROP TABLE payout_items;
DROP TABLE payout_runs;
DROP TABLE payout_accounts;
