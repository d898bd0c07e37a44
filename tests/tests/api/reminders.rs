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
        self.n += 1;
        let n = self.n;
        let born =
            NaiveDate::from_ymd_opt(1985, 1, 1).unwrap() + chrono::Duration::days(i64::from(n));
        let p = NewPerson {
            national_id: NationalId::from_parts("440305", born, 101 + 2 * n).unwrap(),
            name: PersonName::parse("测试").unwrap(),
            region: RegionCode::parse("440300").unwrap(),
            card_number: CardNumber::parse(&format!("R{n:011}")).unwrap(),
            medical_category: MedicalCategory::Employee,
            employment_status: status,
        };
        let now = Utc::now().naive_utc();
        let person = persons::insert(&mut self.conn, &self.vault, &p, now)
            .unwrap()
            .unwrap();
        if bound {
            let phone = PhoneNumber::parse(&Population::phone(n)).unwrap();
            let account = accounts::create(&mut self.conn, &self.vault, &phone, "x", now)
                .unwrap()
                .unwrap();
            accounts::bind(&mut self.conn, account.id, person.id, now)
                .unwrap()
                .unwrap();
        }
        person.id
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
            .with(due::KIND, due::DueCampaign { page: 1 })
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

    // January, fired at 22:00 Beijing time: the reminder waits for 08:00.
    pop.month(owes, "2027-01", Pension, 100_000, Due);
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
    clock.set("2027-01-11T00:00:00Z".parse().unwrap());
    assert_eq!(runner.run_once().await, 1);
    let one = texts(&standin.base_url, &Population::phone(1)).await;
    assert_eq!(one.len(), 2);
    assert!(one[1].contains("2027年1月"), "{one:?}");
    standin.stop().await;
}
