//! Reminder campaigns: who each one speaks to, on a hand-built population.

use chrono::{NaiveDate, Utc};
use shebao_domain::contribution::ContributionAmounts;
use shebao_domain::identity::{NationalId, PersonName, PhoneNumber};
use shebao_domain::insurance::InsuranceType;
use shebao_domain::money::Fen;
use shebao_domain::period::Period;
use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
use shebao_domain::region::RegionCode;
use shebao_infra::db::DbConnection;
use shebao_infra::identity::accounts;
use shebao_infra::records::contributions::{self, ContributionStatus, NewContribution};
use shebao_infra::registry::persons::{self, NewPerson};
use shebao_infra::reminders::due;
use shebao_security::{KeyMaterial, PiiVault};
use shebao_tests::TestDatabase;
use uuid::Uuid;

struct Population {
    conn: DbConnection,
    vault: PiiVault,
    n: u16,
}

impl Population {
    fn new(db: &TestDatabase) -> Population {
        let mut conn = db.connect();
        shebao_infra::seed::ensure_regions(&mut conn, 2026, Utc::now().naive_utc()).unwrap();
        Population {
            conn,
            vault: PiiVault::new(&KeyMaterial::generate()),
            n: 0,
        }
    }

    fn phone(n: u16) -> String {
        format!("+86138{:08}", n)
    }

    /// A person; with an account bound when `bound` (its phone is `phone(n)` for the n-th).
    fn person(&mut self, status: EmploymentStatus, bound: bool) -> Uuid {
        let (person, _) = self.person_with(
            "440300",
            status,
            MedicalCategory::Employee,
            bound.then(|| Utc::now().naive_utc()),
        );
        person
    }

    /// A person of `region`; with an account (created at `account_created`) bound to it when
    /// given. Returns the person and the account.
    fn person_with(
        &mut self,
        region: &str,
        status: EmploymentStatus,
        category: MedicalCategory,
        account_created: Option<chrono::NaiveDateTime>,
    ) -> (Uuid, Option<Uuid>) {
        self.n += 1;
        let n = self.n;
        let born =
            NaiveDate::from_ymd_opt(1985, 1, 1).unwrap() + chrono::Duration::days(i64::from(n));
        let p = NewPerson {
            national_id: NationalId::from_parts("440305", born, 101 + 2 * n).unwrap(),
            name: PersonName::parse("欧阳测试").unwrap(),
            region: RegionCode::parse(region).unwrap(),
            card_number: CardNumber::parse(&format!("R{n:011}")).unwrap(),
            medical_category: category,
            employment_status: status,
        };
        let now = Utc::now().naive_utc();
        let person = persons::insert(&mut self.conn, &self.vault, &p, now)
            .unwrap()
            .unwrap();
        let account = account_created.map(|created| {
            let phone = PhoneNumber::parse(&Population::phone(n)).unwrap();
            let account = accounts::create(&mut self.conn, &self.vault, &phone, "x", created)
                .unwrap()
                .unwrap();
            accounts::bind(&mut self.conn, account.id, person.id, created)
                .unwrap()
                .unwrap();
            account.id
        });
        (person.id, account)
    }

    fn month(
        &mut self,
        person: Uuid,
        period: &str,
        insurance: InsuranceType,
        fen: i64,
        status: ContributionStatus,
    ) {
        let row = NewContribution {
            person_id: person,
            employer_id: None,
            period: Period::parse(period).unwrap(),
            insurance,
            declared_wage_fen: 500_000,
            amounts: ContributionAmounts {
                base: Fen(500_000),
                employer: Fen(0),
                employee: Fen(fen),
            },
            status,
            paid_at: None,
        };
        contributions::insert_many(&mut self.conn, &[row], Utc::now().naive_utc()).unwrap();
    }
}

#[test]
fn the_due_campaign_speaks_to_flexible_workers_with_a_bound_account_and_an_unpaid_month() {
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    use ContributionStatus::{Due, Paid};
    use EmploymentStatus::{Employed, Flexible};
    use InsuranceType::{Medical, Pension};
    // In: flexible, bound, December unpaid.
    let owes = pop.person(Flexible, true);
    pop.month(owes, "2026-12", Pension, 100_000, Due);
    pop.month(owes, "2026-11", Pension, 100_000, Paid);
    // In: two unpaid lines in December (pension and medical): one message, their sum.
    let owes_two = pop.person(Flexible, true);
    pop.month(owes_two, "2026-12", Pension, 100_000, Due);
    pop.month(owes_two, "2026-12", Medical, 12_345, Due);
    // Out: December paid.
    let paid = pop.person(Flexible, true);
    pop.month(paid, "2026-12", Pension, 100_000, Paid);
    // Out: no account to send to.
    let unbound = pop.person(Flexible, false);
    pop.month(unbound, "2026-12", Pension, 100_000, Due);
    // Out: employed (the employer pays).
    let employed = pop.person(Employed, true);
    pop.month(employed, "2026-12", Pension, 80_000, Due);
    // Out: only November is unpaid (that is the arrears campaign's).
    let late = pop.person(Flexible, true);
    pop.month(late, "2026-11", Pension, 100_000, Due);
    // Out: nothing declared at all.
    pop.person(Flexible, true);

    let december = Period::parse("2026-12").unwrap();
    let page = due::audience(&mut pop.conn, december, None, 50).unwrap();
    assert!(page.next.is_none());
    let mut got: Vec<(Uuid, i64)> = page
        .items
        .iter()
        .map(|r| (r.person_id, r.amount.0))
        .collect();
    got.sort();
    let mut want = vec![(owes, 100_000), (owes_two, 112_345)];
    want.sort();
    assert_eq!(got, want);
    for r in &page.items {
        assert_eq!(r.due, NaiveDate::from_ymd_opt(2027, 1, 15).unwrap());
        assert_eq!(r.time_zone.as_str(), "Asia/Shanghai");
        assert_eq!(r.period, december);
    }

    // Page by page, each person once.
    let first = due::audience(&mut pop.conn, december, None, 1).unwrap();
    assert_eq!(first.items.len(), 1);
    let after: Uuid = first.next.as_deref().unwrap().parse().unwrap();
    let second = due::audience(&mut pop.conn, december, Some(after), 1).unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.next.is_none());
    let mut paged = vec![first.items[0].person_id, second.items[0].person_id];
    paged.sort();
    let mut both = vec![owes, owes_two];
    both.sort();
    assert_eq!(paged, both);
}

/// The texts the SMS stand-in received for `phone`, oldest first.
async fn texts(standin: &str, phone: &str) -> Vec<String> {
    let res: serde_json::Value = reqwest::Client::new()
        .get(format!("{standin}/messages"))
        .query(&[("to", phone)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out: Vec<String> = res["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    out.reverse();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_due_campaign_texts_each_person_once_and_only_in_daylight() {
    use shebao_domain::jobs::{CronExpr, CronSchedule, JobKind};
    use shebao_domain::ports::ManualClock;
    use shebao_domain::region::TimeZoneName;
    use shebao_infra::jobs::queue::{self, NewJob};
    use shebao_infra::jobs::{schedules, Handlers, Runner, RunnerConfig};
    use shebao_infra::reminders::sms::SmsReminder;
    use std::sync::Arc;

    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    use ContributionStatus::{Due, Paid};
    use EmploymentStatus::Flexible;
    use InsuranceType::{Medical, Pension};
    let owes = pop.person(Flexible, true); // phone(1)
    pop.month(owes, "2026-12", Pension, 100_000, Due);
    let owes_two = pop.person(Flexible, true); // phone(2)
    pop.month(owes_two, "2026-12", Pension, 100_000, Due);
    pop.month(owes_two, "2026-12", Medical, 12_345, Due);
    let paid = pop.person(Flexible, true); // phone(3)
    pop.month(paid, "2026-12", Pension, 100_000, Paid);

    let standin = shebao_standins::sms::SmsStandIn::start("127.0.0.1:0", "ACtest", "tok").unwrap();
    let sms = shebao_infra::sms::TwilioSms::new(shebao_infra::sms::TwilioConfig::new(
        standin.base_url.clone(),
        "ACtest",
        String::from("tok").into(),
        "SHEBAO",
    ))
    .unwrap();
    let clock = Arc::new(ManualClock::new("2026-12-01T00:00:00Z".parse().unwrap()));
    let pool = shebao_infra::db::Db::connect(&db.url, &Default::default()).unwrap();
    let runner = Runner::new(
        pool,
        clock.clone(),
        Handlers::new()
            .with(
                due::KIND,
                shebao_infra::reminders::campaigns::CampaignJob {
                    campaign: shebao_domain::reminders::Campaign::Due,
                    page: 1,
                },
            )
            .with(
                shebao_infra::reminders::sms::KIND,
                SmsReminder {
                    sms: Arc::new(sms),
                    vault: pop.vault.clone(),
                },
            ),
        RunnerConfig::default(),
    );
    // The 10th of each month at 10:00 Beijing time.
    schedules::upsert(
        &mut pop.conn,
        "campaign.due",
        &JobKind::parse(due::KIND).unwrap(),
        &CronSchedule {
            expr: CronExpr::parse("0 10 10 * *").unwrap(),
            zone: TimeZoneName::ASIA_SHANGHAI,
        },
        clock.now(),
    )
    .unwrap();
    use shebao_domain::ports::Clock;
    clock.set("2026-12-10T02:00:05Z".parse().unwrap());
    // The slot fires and the campaign runs; then the reminders go out.
    assert_eq!(runner.run_once().await, 1);
    assert_eq!(runner.run_once().await, 2);
    assert_eq!(runner.run_once().await, 0);
    assert_eq!(
        texts(&standin.base_url, &Population::phone(1)).await,
        ["【掌上社保】您2026年12月的养老保险费1000.00元，请于2027年1月15日前缴纳，逾期将产生滞纳金。"]
    );
    let two = texts(&standin.base_url, &Population::phone(2)).await;
    assert_eq!(two.len(), 1);
    assert!(two[0].contains("1123.45元"), "{two:?}");
    assert!(texts(&standin.base_url, &Population::phone(3))
        .await
        .is_empty());

    // Fired again for the same month (by hand, later that day): nobody hears twice.
    let again = NewJob::now(
        JobKind::parse(due::KIND).unwrap(),
        &serde_json::json!({"as_of": "2026-12-10T05:00:00Z"}),
        clock.now(),
    );
    queue::enqueue(&mut pop.conn, &again, clock.now())
        .unwrap()
        .unwrap();
    assert_eq!(runner.run_once().await, 1);
    assert_eq!(runner.run_once().await, 0);
    assert_eq!(
        texts(&standin.base_url, &Population::phone(1)).await.len(),
        1
    );
    assert_eq!(
        texts(&standin.base_url, &Population::phone(2)).await.len(),
        1
    );

    // January, fired at 22:00 Beijing time: the reminder waits for 08:00. Another person who
    // pays in the night is not reminded in the morning.
    pop.month(owes, "2027-01", Pension, 100_000, Due);
    let pays_at_night = pop.person(Flexible, true); // phone(4)
    pop.month(pays_at_night, "2027-01", Pension, 100_000, Due);
    clock.set("2027-01-10T14:00:00Z".parse().unwrap());
    let night = NewJob::now(
        JobKind::parse(due::KIND).unwrap(),
        &serde_json::json!({"as_of": "2027-01-10T14:00:00Z"}),
        clock.now(),
    );
    queue::enqueue(&mut pop.conn, &night, clock.now())
        .unwrap()
        .unwrap();
    // (The schedule's January slot at 02:00 UTC is also due; it enqueues the same reminder.)
    runner.run_once().await;
    runner.run_once().await;
    clock.set("2027-01-10T23:59:59Z".parse().unwrap());
    runner.run_once().await;
    assert_eq!(
        texts(&standin.base_url, &Population::phone(1)).await.len(),
        1
    );
    pay_all(&mut pop.conn, pays_at_night);
    clock.set("2027-01-11T00:00:00Z".parse().unwrap());
    // Both reminders run at 08:00: one is sent, the paid month's is dropped.
    assert_eq!(runner.run_once().await, 2);
    let one = texts(&standin.base_url, &Population::phone(1)).await;
    assert_eq!(one.len(), 2);
    assert!(one[1].contains("2027年1月"), "{one:?}");
    assert!(texts(&standin.base_url, &Population::phone(4))
        .await
        .is_empty());
    standin.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The other campaigns, caps, quiet hours, choices and outages.

use diesel::prelude::*;
use shebao_domain::ports::{Clock, ManualClock};
use shebao_domain::reminders::{Campaign, Preferences};
use shebao_infra::jobs::{Handlers, Runner, RunnerConfig};
use shebao_infra::reminders::campaigns::{self, CampaignJob};
use shebao_infra::reminders::{prefs, sms as reminder_sms};
use shebao_infra::schema;
use std::sync::Arc;

fn at(s: &str) -> chrono::DateTime<Utc> {
    s.parse().unwrap()
}

fn naive(s: &str) -> chrono::NaiveDateTime {
    at(s).naive_utc()
}

/// The reminders queued for `campaign`: (person id, text), sorted.
fn queued(conn: &mut DbConnection, campaign: Campaign) -> Vec<(Uuid, String)> {
    use schema::jobs;
    let rows: Vec<(Option<String>, String)> = jobs::table
        .filter(jobs::kind.eq(reminder_sms::KIND))
        .select((jobs::dedupe_key, jobs::payload))
        .load(conn)
        .unwrap();
    let prefix = format!("sms:{}:", campaign.as_str());
    let mut out: Vec<(Uuid, String)> = rows
        .into_iter()
        .filter_map(|(key, payload)| {
            let key = key?;
            let rest = key.strip_prefix(&prefix)?;
            let person: Uuid = rest.split(':').next()?.parse().ok()?;
            let p: serde_json::Value = serde_json::from_str(&payload).ok()?;
            Some((person, p["text"].as_str()?.to_owned()))
        })
        .collect();
    out.sort();
    out
}

fn persons_of(q: &[(Uuid, String)]) -> Vec<Uuid> {
    q.iter().map(|(p, _)| *p).collect()
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

fn pay_all(conn: &mut DbConnection, person: Uuid) {
    use schema::contributions as c;
    diesel::update(c::table.filter(c::person_id.eq(person.to_string())))
        .set(c::status.eq("paid"))
        .execute(conn)
        .unwrap();
}

fn opt_out(conn: &mut DbConnection, account: Uuid, campaign: Campaign) {
    let mut p = Preferences::default();
    match campaign {
        Campaign::Due => p.due = false,
        Campaign::Arrears => p.arrears = false,
        Campaign::Statement => p.statement = false,
        Campaign::ResidentWindow => p.resident_window = false,
        Campaign::Notice => p.notices = false,
    }
    prefs::put(conn, account, &p, Utc::now().naive_utc()).unwrap();
}

#[test]
fn the_arrears_campaign_speaks_to_persons_with_late_months_of_their_own_at_most_four_times() {
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    use ContributionStatus::{Due, Paid};
    use EmploymentStatus::{Employed, Flexible};
    use InsuranceType::{Medical, Pension};
    let old = Some(naive("2026-01-01T00:00:00Z"));
    let emp = MedicalCategory::Employee;
    // In: October unpaid (due 15 November): 22 days late on Monday 7 December.
    let (one, _) = pop.person_with("440300", Flexible, emp, old);
    pop.month(one, "2026-10", Pension, 100_000, Due);
    // In: September and October, two lines in October: two months.
    let (two, _) = pop.person_with("440300", Flexible, emp, old);
    pop.month(two, "2026-09", Pension, 100_000, Due);
    pop.month(two, "2026-10", Pension, 100_000, Due);
    pop.month(two, "2026-10", Medical, 40_000, Due);
    // Out: November is not late until 15 December.
    let (not_yet, _) = pop.person_with("440300", Flexible, emp, old);
    pop.month(not_yet, "2026-11", Pension, 100_000, Due);
    // Out: paid.
    let (paid, _) = pop.person_with("440300", Flexible, emp, old);
    pop.month(paid, "2026-09", Pension, 100_000, Paid);
    // Out: no account.
    let (unbound, _) = pop.person_with("440300", Flexible, emp, None);
    pop.month(unbound, "2026-09", Pension, 100_000, Due);
    // Out: turned arrears off.
    let (quiet, quiet_account) = pop.person_with("440300", Flexible, emp, old);
    pop.month(quiet, "2026-09", Pension, 100_000, Due);
    opt_out(&mut pop.conn, quiet_account.unwrap(), Campaign::Arrears);
    // In: employed now, but a month of their own (flexible before) is late.
    let (was_flexible, _) = pop.person_with("440300", Employed, emp, old);
    pop.month(was_flexible, "2026-08", Pension, 50_000, Due);

    let monday = at("2026-12-07T02:00:00Z");
    let n = campaigns::run_campaign(&mut pop.conn, Campaign::Arrears, monday, monday, 2).unwrap();
    assert_eq!(n, 3);
    let q = queued(&mut pop.conn, Campaign::Arrears);
    assert_eq!(persons_of(&q), sorted(vec![one, two, was_flexible]));
    let text = |p: Uuid| q.iter().find(|(x, _)| *x == p).unwrap().1.clone();
    // 1,000.00 yuan, 22 days at 0.05 %: 11.00 yuan.
    assert_eq!(
        text(one),
        "【掌上社保】您有1个月社保费逾期未缴，欠费1000.00元，截至2026年12月7日滞纳金11.00元，每日递增，请尽快缴纳。"
    );
    // September 53 days late on 1,000.00 (26.50); October 22 days on 1,000.00 + 400.00 (15.40).
    assert!(text(two).contains("您有2个月"), "{}", text(two));
    assert!(text(two).contains("欠费2400.00元"), "{}", text(two));
    assert!(text(two).contains("滞纳金41.90元"), "{}", text(two));
    assert!(!text(two).contains("欧阳"));

    // The same week again: nothing new.
    let later = at("2026-12-09T02:00:00Z");
    assert_eq!(
        campaigns::run_campaign(&mut pop.conn, Campaign::Arrears, later, later, 50).unwrap(),
        0
    );
    // Person `one` pays; `two` does not: three more Mondays reach `two` (four in all), the
    // fifth does not; nobody hears about paid arrears.
    pay_all(&mut pop.conn, one);
    // (`was_flexible` has its four by the fourth Monday; November, late from 16 December,
    // starts `not_yet`'s stretch.)
    for monday in [
        "2026-12-14T02:00:00Z",
        "2026-12-21T02:00:00Z",
        "2026-12-28T02:00:00Z",
        "2027-01-04T02:00:00Z",
    ] {
        let t = at(monday);
        campaigns::run_campaign(&mut pop.conn, Campaign::Arrears, t, t, 50).unwrap();
    }
    let all: Vec<(Uuid, String)> = queued(&mut pop.conn, Campaign::Arrears);
    let count = |p: Uuid| all.iter().filter(|(x, _)| *x == p).count();
    assert_eq!(count(one), 1);
    assert_eq!(count(two), 4);
    assert_eq!(count(was_flexible), 4);
    assert_eq!(count(not_yet), 3, "late from 16 December: three Mondays");
    assert_eq!(count(paid) + count(unbound) + count(quiet), 0);
}

#[test]
fn the_statement_campaign_speaks_to_accounts_not_signed_in_for_90_days() {
    use shebao_infra::identity::sessions;
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    use ContributionStatus::{Due, Paid};
    use EmploymentStatus::Employed;
    use InsuranceType::Pension;
    let emp = MedicalCategory::Employee;
    let now = at("2026-10-01T02:00:00Z");
    // In: account since June, never signed in since; paid 2025-12 and 2026-01..03 pension.
    let (dormant, _) =
        pop.person_with("440300", Employed, emp, Some(naive("2026-06-01T00:00:00Z")));
    for m in ["2025-12", "2026-01", "2026-02", "2026-03"] {
        pop.month(dormant, m, Pension, 40_000, Paid);
    }
    pop.month(dormant, "2026-04", Pension, 40_000, Due);
    // In: last signed in in May.
    let (may, may_account) =
        pop.person_with("440300", Employed, emp, Some(naive("2026-01-01T00:00:00Z")));
    sessions::create(
        &mut pop.conn,
        may_account.unwrap(),
        "phone",
        None,
        naive("2026-05-01T00:00:00Z"),
    )
    .unwrap();
    // Out: signed in in September.
    let (active, active_account) =
        pop.person_with("440300", Employed, emp, Some(naive("2026-01-01T00:00:00Z")));
    sessions::create(
        &mut pop.conn,
        active_account.unwrap(),
        "phone",
        None,
        naive("2026-09-01T00:00:00Z"),
    )
    .unwrap();
    // Out: the account is a month old.
    let (young, _) = pop.person_with("440300", Employed, emp, Some(naive("2026-09-01T00:00:00Z")));
    // Out: turned statements off.
    let (quiet, quiet_account) =
        pop.person_with("440300", Employed, emp, Some(naive("2026-01-01T00:00:00Z")));
    opt_out(&mut pop.conn, quiet_account.unwrap(), Campaign::Statement);
    // Out: no account.
    let (unbound, _) = pop.person_with("440300", Employed, emp, None);

    let n = campaigns::run_campaign(&mut pop.conn, Campaign::Statement, now, now, 1).unwrap();
    assert_eq!(n, 2);
    let q = queued(&mut pop.conn, Campaign::Statement);
    assert_eq!(persons_of(&q), sorted(vec![dormant, may]));
    let text = |p: Uuid| q.iter().find(|(x, _)| *x == p).unwrap().1.clone();
    // Four paid months; three of them in 2026; 8 % of each 5,000.00 base: 1,600.00 yuan.
    assert_eq!(
        text(dormant),
        "【掌上社保】您累计缴纳养老保险4个月，2026年已缴3个月，个人账户余额1600.00元。"
    );
    assert!(text(may).contains("累计缴纳养老保险0个月"), "{}", text(may));
    let _ = (active, young, quiet, unbound);
    // The quarter fired again: nothing new; the next quarter: again.
    assert_eq!(
        campaigns::run_campaign(
            &mut pop.conn,
            Campaign::Statement,
            at("2026-11-15T02:00:00Z"),
            now,
            50
        )
        .unwrap(),
        0
    );
    let jan = at("2027-01-01T02:00:00Z");
    assert_eq!(
        campaigns::run_campaign(&mut pop.conn, Campaign::Statement, jan, jan, 50).unwrap(),
        // By then the September sign-in and the September account are over 90 days old.
        4
    );
}

fn set_window(conn: &mut DbConnection, region: &str, year: i32, opens: &str, closes: &str) {
    use schema::region_years as ry;
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let n = diesel::update(ry::table.find((region, year)))
        .set((
            ry::resident_medical_opens.eq(Some(d(opens))),
            ry::resident_medical_closes.eq(Some(d(closes))),
            ry::resident_medical_premium_fen.eq(40_000i64),
        ))
        .execute(conn)
        .unwrap();
    assert_eq!(n, 1);
}

fn add_payee(conn: &mut DbConnection, owner: Uuid, payee: Uuid) {
    use schema::payees;
    diesel::insert_into(payees::table)
        .values((
            payees::id.eq(Uuid::now_v7().to_string()),
            payees::owner_person_id.eq(owner.to_string()),
            payees::payee_person_id.eq(payee.to_string()),
            payees::relation.eq("child"),
            payees::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .unwrap();
}

fn mark_resident_paid(conn: &mut DbConnection, person: Uuid, year: i32) {
    use schema::{payments, resident_premiums};
    let id = Uuid::now_v7().to_string();
    let now = Utc::now().naive_utc();
    diesel::insert_into(payments::table)
        .values((
            payments::id.eq(&id),
            payments::person_id.eq(person.to_string()),
            payments::idempotency_key.eq(&id),
            payments::request_hash.eq("x"),
            payments::channel.eq("wechat"),
            payments::out_trade_no.eq(&id),
            payments::status.eq("paid"),
            payments::amount_fen.eq(40_000i64),
            payments::items.eq("[]"),
            payments::description.eq("resident"),
            payments::expires_at.eq(now),
            payments::created_at.eq(now),
            payments::updated_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    diesel::insert_into(resident_premiums::table)
        .values((
            resident_premiums::person_id.eq(person.to_string()),
            resident_premiums::year.eq(year),
            resident_premiums::payment_id.eq(&id),
            resident_premiums::amount_fen.eq(40_000i64),
            resident_premiums::status.eq("paid"),
            resident_premiums::paid_at.eq(Some(now)),
        ))
        .execute(conn)
        .unwrap();
}

#[test]
fn the_resident_window_campaign_speaks_to_unpaid_residents_and_their_payers() {
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    use EmploymentStatus::{Employed, Unemployed};
    let res = MedicalCategory::Resident;
    let old = Some(naive("2026-01-01T00:00:00Z"));
    set_window(&mut pop.conn, "440300", 2026, "2026-09-01", "2026-12-31");
    // In: a resident with an account, unpaid.
    let (own, own_account) = pop.person_with("440300", Unemployed, res, old);
    // In (to the payer's account): a resident child without an account, paid for by `parent`.
    let (child, _) = pop.person_with("440300", Unemployed, res, None);
    let (parent, parent_account) =
        pop.person_with("440300", Employed, MedicalCategory::Employee, old);
    add_payee(&mut pop.conn, parent, child);
    // Out: paid for the year.
    let (settled, _) = pop.person_with("440300", Unemployed, res, old);
    mark_resident_paid(&mut pop.conn, settled, 2026);
    // Out: employees' medical insurance.
    let (employee, _) = pop.person_with("440300", Employed, MedicalCategory::Employee, old);
    // Out: a region whose window is not open.
    let (elsewhere, _) = pop.person_with("110000", Unemployed, res, old);
    // Out: turned the campaign off.
    let (quiet, quiet_account) = pop.person_with("440300", Unemployed, res, old);
    opt_out(
        &mut pop.conn,
        quiet_account.unwrap(),
        Campaign::ResidentWindow,
    );
    let _ = (settled, employee, elsewhere, quiet);

    let opening = at("2026-09-01T01:00:00Z");
    let n = campaigns::run_campaign(&mut pop.conn, Campaign::ResidentWindow, opening, opening, 1)
        .unwrap();
    assert_eq!(n, 2);
    let q = queued(&mut pop.conn, Campaign::ResidentWindow);
    assert_eq!(persons_of(&q), sorted(vec![own, child]));
    let text = |p: Uuid| q.iter().find(|(x, _)| *x == p).unwrap().1.clone();
    assert_eq!(
        text(own),
        "【掌上社保】2026年度城乡居民医保缴费已开始，您的保费400.00元，请于2026年12月31日前缴纳。"
    );
    assert!(
        text(child).contains("欧***的保费400.00元"),
        "{}",
        text(child)
    );
    // The child's message goes to the parent's account; the own one to the resident's.
    let accounts_of = |conn: &mut DbConnection| -> Vec<String> {
        use schema::jobs;
        let mut v: Vec<String> = jobs::table
            .filter(jobs::kind.eq(reminder_sms::KIND))
            .select(jobs::payload)
            .load::<String>(conn)
            .unwrap()
            .iter()
            .map(|p| {
                serde_json::from_str::<serde_json::Value>(p).unwrap()["account_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        v.sort();
        v
    };
    let mut want = vec![
        own_account.unwrap().to_string(),
        parent_account.unwrap().to_string(),
    ];
    want.sort();
    assert_eq!(accounts_of(&mut pop.conn), want);

    // Every day of the window until the last two weeks: nothing new.
    let oct = at("2026-10-15T01:00:00Z");
    assert_eq!(
        campaigns::run_campaign(&mut pop.conn, Campaign::ResidentWindow, oct, oct, 50).unwrap(),
        0
    );
    // 14 days before it closes: the closing notice, once; after it closes: nothing.
    let closing = at("2026-12-17T01:00:00Z");
    assert_eq!(
        campaigns::run_campaign(
            &mut pop.conn,
            Campaign::ResidentWindow,
            closing,
            closing,
            50
        )
        .unwrap(),
        2
    );
    let dec = at("2026-12-20T01:00:00Z");
    assert_eq!(
        campaigns::run_campaign(&mut pop.conn, Campaign::ResidentWindow, dec, dec, 50).unwrap(),
        0
    );
    let q = queued(&mut pop.conn, Campaign::ResidentWindow);
    assert_eq!(
        q.iter().filter(|(_, t)| t.contains("缴费即将截止")).count(),
        2
    );
    let after = at("2027-01-01T01:00:00Z");
    assert_eq!(
        campaigns::run_campaign(&mut pop.conn, Campaign::ResidentWindow, after, after, 50).unwrap(),
        0
    );
}

struct Sender {
    runner: Runner,
    clock: Arc<ManualClock>,
    standin: shebao_standins::sms::RunningStandIn,
}

fn sender(db: &TestDatabase, vault: &PiiVault, start: &str) -> Sender {
    let standin = shebao_standins::sms::SmsStandIn::start("127.0.0.1:0", "ACtest", "tok").unwrap();
    let sms = shebao_infra::sms::TwilioSms::new(shebao_infra::sms::TwilioConfig::new(
        standin.base_url.clone(),
        "ACtest",
        String::from("tok").into(),
        "SHEBAO",
    ))
    .unwrap();
    let clock = Arc::new(ManualClock::new(at(start)));
    let pool = shebao_infra::db::Db::connect(&db.url, &Default::default()).unwrap();
    let reminder = reminder_sms::SmsReminder {
        sms: Arc::new(sms),
        vault: vault.clone(),
    };
    let mut handlers = Handlers::new()
        .with(reminder_sms::KIND, reminder.clone())
        .with(reminder_sms::EVENT_KIND, reminder);
    for campaign in Campaign::SCHEDULED {
        handlers = handlers.with(
            campaigns::kind_of(campaign),
            CampaignJob { campaign, page: 10 },
        );
    }
    let runner = Runner::new(pool, clock.clone(), handlers, RunnerConfig::default());
    Sender {
        runner,
        clock,
        standin,
    }
}

fn remind(
    conn: &mut DbConnection,
    person: Uuid,
    account: Uuid,
    zone: &str,
    slot: &str,
    now: chrono::DateTime<Utc>,
) {
    let r = campaigns::Reminder {
        campaign: Campaign::Due,
        person,
        account,
        zone: shebao_domain::region::TimeZoneName::parse(zone).unwrap(),
        slot,
        period: None,
        text: format!("reminder {slot}"),
    };
    assert!(campaigns::enqueue_reminder(conn, r, now).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_wait_for_daylight_in_each_zone_and_at_most_three_a_day_reach_a_phone() {
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    let emp = MedicalCategory::Employee;
    let old = Some(naive("2026-01-01T00:00:00Z"));
    let (sh, sh_account) = pop.person_with("440300", EmploymentStatus::Flexible, emp, old); // phone(1)
    let (ur, ur_account) = pop.person_with("110000", EmploymentStatus::Flexible, emp, old); // phone(2)
    let (sh_account, ur_account) = (sh_account.unwrap(), ur_account.unwrap());
    // 21:30 in Beijing is 19:30 in Urumqi (UTC+6).
    let s = sender(&db, &pop.vault, "2026-12-10T13:30:00Z");
    let now = s.clock.now();
    for slot in ["a", "b", "c", "d", "e"] {
        remind(&mut pop.conn, sh, sh_account, "Asia/Shanghai", slot, now);
    }
    remind(&mut pop.conn, ur, ur_account, "Asia/Urumqi", "a", now);
    // An event message to the Beijing phone: not counted against the cap.
    let event = reminder_sms::EventPayload {
        event: "payment_failed".into(),
        account_id: sh_account,
        time_zone: shebao_domain::region::TimeZoneName::ASIA_SHANGHAI,
        text: "event".into(),
        only_if: None,
        immediate: false,
    };
    assert!(
        reminder_sms::enqueue_event(&mut pop.conn, &event, "payment_failed:p-1", now)
            .unwrap()
            .is_some()
    );
    assert!(
        reminder_sms::enqueue_event(&mut pop.conn, &event, "payment_failed:p-1", now)
            .unwrap()
            .is_none()
    );

    // Night in Beijing, evening in Urumqi: only Urumqi's goes now.
    while s.runner.run_once().await > 0 {}
    let phone1 = Population::phone(1);
    let phone2 = Population::phone(2);
    assert!(texts(&s.standin.base_url, &phone1).await.is_empty());
    assert_eq!(texts(&s.standin.base_url, &phone2).await, ["reminder a"]);
    // 07:59 in Beijing: still nothing.
    s.clock.set(at("2026-12-10T23:59:00Z"));
    while s.runner.run_once().await > 0 {}
    assert!(texts(&s.standin.base_url, &phone1).await.is_empty());
    // 08:00: three reminders and the event; the other two wait for the next morning.
    s.clock.set(at("2026-12-11T00:00:00Z"));
    while s.runner.run_once().await > 0 {}
    let got = texts(&s.standin.base_url, &phone1).await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got.iter().filter(|t| t.starts_with("reminder")).count(), 3);
    assert!(got.contains(&"event".to_owned()));
    s.clock.set(at("2026-12-11T12:00:00Z"));
    while s.runner.run_once().await > 0 {}
    assert_eq!(texts(&s.standin.base_url, &phone1).await.len(), 4);
    s.clock.set(at("2026-12-12T00:00:00Z"));
    while s.runner.run_once().await > 0 {}
    let got = texts(&s.standin.base_url, &phone1).await;
    assert_eq!(got.iter().filter(|t| t.starts_with("reminder")).count(), 5);
    // Each reminder exactly once.
    let mut uniq = got.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), got.len());
    let stats = reminder_sms::stats(&mut pop.conn).unwrap();
    let due = stats.iter().find(|s| s.campaign == "due").unwrap();
    assert_eq!((due.sent, due.failed), (6, 0));
    let ev = stats.iter().find(|s| s.campaign == "event").unwrap();
    assert_eq!((ev.sent, ev.failed), (1, 0));
    s.standin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_account_hears_nothing_and_an_outage_delays_but_loses_nothing() {
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    let emp = MedicalCategory::Employee;
    let old = Some(naive("2026-01-01T00:00:00Z"));
    let (a, a_account) = pop.person_with("440300", EmploymentStatus::Flexible, emp, old); // phone(1)
    let (b, b_account) = pop.person_with("440300", EmploymentStatus::Flexible, emp, old); // phone(2)
    let s = sender(&db, &pop.vault, "2026-12-10T02:00:00Z");
    let now = s.clock.now();
    remind(
        &mut pop.conn,
        a,
        a_account.unwrap(),
        "Asia/Shanghai",
        "x",
        now,
    );
    remind(
        &mut pop.conn,
        b,
        b_account.unwrap(),
        "Asia/Shanghai",
        "x",
        now,
    );
    // `a` turns `due` off after the reminder was queued: checked again at send time.
    opt_out(&mut pop.conn, a_account.unwrap(), Campaign::Due);
    // The provider is down for the next two tries of the job (the adapter itself makes three
    // attempts per try).
    let res = reqwest::Client::new()
        .post(format!("{}/_control/fail", s.standin.base_url))
        .json(&serde_json::json!({"count": 6, "status": 503}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(s.runner.run_once().await, 2);
    assert!(texts(&s.standin.base_url, &Population::phone(2))
        .await
        .is_empty());
    // The retry comes after the backoff, and fails once more; then the provider is back.
    s.clock.set(at("2026-12-10T02:30:00Z"));
    assert_eq!(s.runner.run_once().await, 1);
    assert!(texts(&s.standin.base_url, &Population::phone(2))
        .await
        .is_empty());
    s.clock.set(at("2026-12-10T03:30:00Z"));
    assert_eq!(s.runner.run_once().await, 1);
    assert_eq!(
        texts(&s.standin.base_url, &Population::phone(2)).await,
        ["reminder x"]
    );
    assert!(texts(&s.standin.base_url, &Population::phone(1))
        .await
        .is_empty());
    let stats = reminder_sms::stats(&mut pop.conn).unwrap();
    let due = stats.iter().find(|s| s.campaign == "due").unwrap();
    assert_eq!((due.sent, due.failed), (1, 2));
    // Nothing left to do, nothing dead.
    s.clock.set(at("2026-12-11T03:30:00Z"));
    assert_eq!(s.runner.run_once().await, 0);
    s.standin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_slot_fired_twice_sends_nothing_twice() {
    let db = TestDatabase::new();
    let mut pop = Population::new(&db);
    let emp = MedicalCategory::Employee;
    let old = Some(naive("2026-01-01T00:00:00Z"));
    let (late, _) = pop.person_with("440300", EmploymentStatus::Flexible, emp, old); // phone(1)
    pop.month(
        late,
        "2026-10",
        InsuranceType::Pension,
        100_000,
        ContributionStatus::Due,
    );
    let s = sender(&db, &pop.vault, "2026-12-07T02:00:00Z");
    let now = s.clock.now();
    let first = campaigns::fire(&mut pop.conn, Campaign::Arrears, now, now).unwrap();
    assert!(first.new);
    assert_eq!(first.slot, "2026-W50");
    // Later in the same week: the same slot, the same job.
    let again = campaigns::fire(
        &mut pop.conn,
        Campaign::Arrears,
        at("2026-12-09T02:00:00Z"),
        now,
    )
    .unwrap();
    assert!(!again.new);
    assert_eq!(again.job_id, first.job_id);
    while s.runner.run_once().await > 0 {}
    // The schedule's own firing of the same week (another job) finds the message queued.
    let kind = shebao_domain::jobs::JobKind::parse(campaigns::kind_of(Campaign::Arrears)).unwrap();
    let job = shebao_infra::jobs::queue::NewJob::now(
        kind,
        &serde_json::json!({"slot": "2026-12-07T02:00:00Z"}),
        now,
    );
    shebao_infra::jobs::queue::enqueue(&mut pop.conn, &job, now)
        .unwrap()
        .unwrap();
    while s.runner.run_once().await > 0 {}
    let got = texts(&s.standin.base_url, &Population::phone(1)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("逾期未缴"), "{got:?}");
    // A week later: the next slot speaks again (the stretch is not over).
    s.clock.set(at("2026-12-14T02:00:00Z"));
    let next = campaigns::fire(
        &mut pop.conn,
        Campaign::Arrears,
        s.clock.now(),
        s.clock.now(),
    )
    .unwrap();
    assert!(next.new);
    while s.runner.run_once().await > 0 {}
    assert_eq!(
        texts(&s.standin.base_url, &Population::phone(1))
            .await
            .len(),
        2
    );
    s.standin.stop().await;
}

#[tokio::test]
async fn notification_preferences_and_running_a_campaign_through_the_api() {
    use shebao_domain::staff::StaffRole;
    let app = shebao_tests::spawn_app().await;
    app.seed_regions();
    let tokens = app.register("+8613900000001").await;
    let access = tokens["access_token"].as_str().unwrap();
    let all_on = serde_json::json!({"due": true, "arrears": true, "statement": true, "resident_window": true, "notices": true});
    assert_eq!(
        app.get_ok(access, "/v1/me/notification-preferences").await,
        all_on
    );
    let put = |body: serde_json::Value| {
        let req = app
            .client
            .put(app.url("/v1/me/notification-preferences"))
            .bearer_auth(access)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    // `notices` may be left out (a client written before notices): it stays as it is.
    let res = put(serde_json::json!({"due": true, "arrears": false, "statement": false, "resident_window": true})).await;
    assert_eq!(res.status(), 200);
    let choice = serde_json::json!({"due": true, "arrears": false, "statement": false, "resident_window": true, "notices": true});
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), choice);
    let res = put(serde_json::json!({"due": true, "arrears": false, "statement": false, "resident_window": true, "notices": false})).await;
    assert_eq!(res.status(), 200);
    let no_notices = serde_json::json!({"due": true, "arrears": false, "statement": false, "resident_window": true, "notices": false});
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), no_notices);
    let res = put(serde_json::json!({"due": true, "arrears": false, "statement": false, "resident_window": true})).await;
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), no_notices);
    let res = put(choice.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get_ok(access, "/v1/me/notification-preferences").await,
        choice
    );
    let res = app
        .client
        .put(app.url("/v1/me/notification-preferences"))
        .bearer_auth(access)
        .json(&serde_json::json!({"due": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(
        app.get_ok(access, "/v1/me/notification-preferences").await,
        choice
    );
    let res = app
        .get("/v1/me/notification-preferences")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let admin = app.staff_token(StaffRole::Admin).await;
    let run = |token: String, kind: &'static str, as_of: &'static str| {
        let req = app
            .post(&format!("/v1/staff/campaigns/{kind}:run"))
            .bearer_auth(token)
            .json(&serde_json::json!({"as_of": as_of}));
        async move { req.send().await.unwrap() }
    };
    let res = run(admin.clone(), "statement", "2026-10-01T02:00:00Z").await;
    assert_eq!(res.status(), 202);
    let first: serde_json::Value = res.json().await.unwrap();
    assert_eq!(first["slot"], "2026-Q4");
    assert_eq!(first["new"], true);
    let res = run(admin.clone(), "statement", "2026-12-31T02:00:00Z").await;
    assert_eq!(res.status(), 200);
    let again: serde_json::Value = res.json().await.unwrap();
    assert_eq!(again["job_id"], first["job_id"]);
    assert_eq!(again["new"], false);
    let res = run(admin.clone(), "birthday", "2026-10-01T02:00:00Z").await;
    shebao_tests::assert_problem(res, 404, "not_found").await;
    // Notices are sent per notice (`POST /v1/staff/notices/{id}/sms`), not by slot.
    let res = run(admin.clone(), "notice", "2026-10-01T02:00:00Z").await;
    shebao_tests::assert_problem(res, 404, "not_found").await;
    let caseworker = app.staff_token(StaffRole::Caseworker).await;
    let res = run(caseworker, "due", "2026-10-01T02:00:00Z").await;
    assert_eq!(res.status(), 403);
    let res = app
        .post("/v1/staff/campaigns/due:run")
        .bearer_auth(&admin)
        .json(&serde_json::json!({"as_of": "yesterday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // The metrics list every campaign.
    let metrics = reqwest::get(format!("{}/metrics", app.metrics_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for c in [
        "due",
        "arrears",
        "statement",
        "resident_window",
        "notice",
        "event",
    ] {
        assert!(
            metrics.contains(&format!(
                "shebao_sms_messages{{campaign=\"{c}\",outcome=\"sent\"}}"
            )),
            "{c}"
        );
    }
    app.stop().await;
}
