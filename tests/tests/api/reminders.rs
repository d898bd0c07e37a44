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

    /// A person; with an account bound when `bound`.
    fn person(&mut self, status: EmploymentStatus, bound: bool) -> Uuid {
        self.n += 1;
        let n = self.n;
        let born = NaiveDate::from_ymd_opt(1985, 1, 1).unwrap() + chrono::Duration::days(i64::from(n));
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
            let phone = PhoneNumber::parse(&format!("+86138{:08}", n)).unwrap();
            let account = accounts::create(&mut self.conn, &self.vault, &phone, "x", now)
                .unwrap()
                .unwrap();
            accounts::bind(&mut self.conn, account.id, person.id, now)
                .unwrap()
                .unwrap();
        }
        person.id
    }

    fn month(&mut self, person: Uuid, period: &str, insurance: InsuranceType, fen: i64, status: ContributionStatus) {
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
    let mut got: Vec<(Uuid, i64)> = page.items.iter().map(|r| (r.person_id, r.amount.0)).collect();
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
