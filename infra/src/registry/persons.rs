use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::identity::{Gender, NationalId, PersonName};
use shebao_domain::person::{CardNumber, EmploymentStatus, MedicalCategory};
use shebao_domain::region::{RegionCode, TimeZoneName};
use shebao_security::PiiVault;
use uuid::Uuid;

use super::{stored, stored_id, Page};
use crate::db::{DbConnection, StoreError};
use crate::db_run;
use crate::schema::{persons, regions};

/// The additional authenticated data bound into the ciphertext of a person's ID number, so a
/// ciphertext copied into another column does not decrypt.
pub const NATIONAL_ID_AAD: &[u8] = b"persons.national_id";
/// The blind-index domain of national ID numbers.
pub const NATIONAL_ID_INDEX: &str = "national_id";

/// An insured person as the registry holds them. The ID number itself is never loaded here:
/// only its masked form.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub national_id_masked: String,
    pub name: PersonName,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub region: RegionCode,
    pub card_number: CardNumber,
    pub medical_category: MedicalCategory,
    pub employment_status: EmploymentStatus,
    pub created_at: NaiveDateTime,
}

/// A person to register; gender and birth date come from the ID number.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub national_id: NationalId,
    pub name: PersonName,
    pub region: RegionCode,
    pub card_number: CardNumber,
    pub medical_category: MedicalCategory,
    pub employment_status: EmploymentStatus,
}

/// Which unique value a registration collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonConflict {
    NationalId,
    CardNumber,
}

fn gender_str(g: Gender) -> &'static str {
    match g {
        Gender::Male => "male",
        Gender::Female => "female",
    }
}

fn gender_parse(s: &str) -> Result<Gender, StoreError> {
    match s {
        "male" => Ok(Gender::Male),
        "female" => Ok(Gender::Female),
        other => Err(StoreError::Corrupt(format!("persons.gender: {other:?}"))),
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = persons)]
struct PersonRow {
    id: String,
    national_id_masked: String,
    name: String,
    gender: String,
    birth_date: NaiveDate,
    region_code: String,
    card_number: String,
    medical_category: String,
    employment_status: String,
    created_at: NaiveDateTime,
}

impl TryFrom<PersonRow> for Person {
    type Error = StoreError;
    fn try_from(r: PersonRow) -> Result<Self, StoreError> {
        Ok(Person {
            id: stored_id("persons.id", &r.id)?,
            national_id_masked: r.national_id_masked,
            name: stored("persons.name", PersonName::parse(&r.name))?,
            gender: gender_parse(&r.gender)?,
            birth_date: r.birth_date,
            region: stored("persons.region_code", RegionCode::parse(&r.region_code))?,
            card_number: stored("persons.card_number", CardNumber::parse(&r.card_number))?,
            medical_category: stored(
                "persons.medical_category",
                MedicalCategory::parse(&r.medical_category),
            )?,
            employment_status: stored(
                "persons.employment_status",
                EmploymentStatus::parse(&r.employment_status),
            )?,
            created_at: r.created_at,
        })
    }
}

/// The row as it is written: the ID number encrypted, indexed and masked.
#[derive(Insertable)]
#[diesel(table_name = persons)]
struct PersonInsert {
    id: String,
    national_id_hash: String,
    national_id_enc: String,
    national_id_masked: String,
    name: String,
    gender: &'static str,
    birth_date: NaiveDate,
    region_code: String,
    card_number: String,
    medical_category: &'static str,
    employment_status: &'static str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl PersonInsert {
    fn new(vault: &PiiVault, id: Uuid, p: &NewPerson, now: NaiveDateTime) -> PersonInsert {
        PersonInsert {
            id: id.to_string(),
            national_id_hash: vault.blind_index(NATIONAL_ID_INDEX, p.national_id.expose()),
            national_id_enc: vault.encrypt(p.national_id.expose(), NATIONAL_ID_AAD),
            national_id_masked: p.national_id.masked(),
            name: p.name.as_str().to_owned(),
            gender: gender_str(p.national_id.gender()),
            birth_date: p.national_id.birth_date(),
            region_code: p.region.as_str().to_owned(),
            card_number: p.card_number.as_str().to_owned(),
            medical_category: p.medical_category.as_str(),
            employment_status: p.employment_status.as_str(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// Registers a person. A second person with the same ID number or card number is a conflict,
/// reported as which value collided; checked before the insert (for a clear answer) and by the
/// unique indexes (for races).
pub fn insert(
    conn: &mut DbConnection,
    vault: &PiiVault,
    p: &NewPerson,
    now: NaiveDateTime,
) -> Result<Result<Person, PersonConflict>, StoreError> {
    let hash = vault.blind_index(NATIONAL_ID_INDEX, p.national_id.expose());
    if id_by_hash(conn, &hash)?.is_some() {
        return Ok(Err(PersonConflict::NationalId));
    }
    let card_taken: bool = diesel::select(diesel::dsl::exists(
        persons::table.filter(persons::card_number.eq(p.card_number.as_str())),
    ))
    .get_result(conn)?;
    if card_taken {
        return Ok(Err(PersonConflict::CardNumber));
    }
    let id = Uuid::now_v7();
    match diesel::insert_into(persons::table)
        .values(PersonInsert::new(vault, id, p, now))
        .execute(conn)
    {
        Ok(_) => {}
        Err(e) => {
            return match StoreError::from(e) {
                StoreError::Conflict(what) if what.contains("card_number") => {
                    Ok(Err(PersonConflict::CardNumber))
                }
                StoreError::Conflict(_) => Ok(Err(PersonConflict::NationalId)),
                other => Err(other),
            }
        }
    }
    get(conn, id)?.ok_or(StoreError::NotFound).map(Ok)
}

/// Bulk registration for seeding: one multi-row INSERT per call.
pub fn insert_many(
    conn: &mut DbConnection,
    vault: &PiiVault,
    people: &[(Uuid, NewPerson)],
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let rows: Vec<PersonInsert> = people
        .iter()
        .map(|(id, p)| PersonInsert::new(vault, *id, p, now))
        .collect();
    Ok(db_run!(conn, |c| diesel::insert_into(persons::table)
        .values(&rows)
        .execute(c))?)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Option<Person>, StoreError> {
    persons::table
        .find(id.to_string())
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?
        .map(Person::try_from)
        .transpose()
}

fn id_by_hash(conn: &mut DbConnection, hash: &str) -> Result<Option<String>, StoreError> {
    Ok(persons::table
        .filter(persons::national_id_hash.eq(hash))
        .select(persons::id)
        .first::<String>(conn)
        .optional()?)
}

/// Finds a person by ID number through the blind index; the number itself is never queried.
pub fn find_by_national_id(
    conn: &mut DbConnection,
    vault: &PiiVault,
    national_id: &NationalId,
) -> Result<Option<Person>, StoreError> {
    match id_by_hash(
        conn,
        &vault.blind_index(NATIONAL_ID_INDEX, national_id.expose()),
    )? {
        Some(id) => get(conn, stored_id("persons.id", &id)?),
        None => Ok(None),
    }
}

/// How staff look a person up: exactly one way per search.
#[derive(Debug, Clone)]
pub enum PersonLookup {
    /// Through the blind index of the ID number; the number itself is never queried.
    NationalId(NationalId),
    CardNumber(CardNumber),
    /// Exact full name within one region (index `persons_region_name_idx`).
    Name {
        region: RegionCode,
        name: PersonName,
    },
}

/// The persons a look-up matches, by id, keyset-paginated after `after` (an id).
pub fn search(
    conn: &mut DbConnection,
    vault: &PiiVault,
    by: &PersonLookup,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Person>, StoreError> {
    let mut q = persons::table
        .select(PersonRow::as_select())
        .order(persons::id.asc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    q = match by {
        PersonLookup::NationalId(n) => {
            q.filter(persons::national_id_hash.eq(vault.blind_index(NATIONAL_ID_INDEX, n.expose())))
        }
        PersonLookup::CardNumber(c) => q.filter(persons::card_number.eq(c.as_str().to_owned())),
        PersonLookup::Name { region, name } => q
            .filter(persons::region_code.eq(region.as_str().to_owned()))
            .filter(persons::name.eq(name.as_str().to_owned())),
    };
    if let Some(after) = after {
        q = q.filter(persons::id.gt(after.to_owned()));
    }
    let rows: Vec<PersonRow> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(Person::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |p| p.id.to_string()))
}

pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(persons::table.count().get_result(conn)?)
}

/// The date at `now` where the person lives (their region's time zone), which decides when a
/// month falls due; `None` if there is no such person.
pub fn local_today(
    conn: &mut DbConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>, StoreError> {
    let tz: Option<String> = persons::table
        .inner_join(regions::table)
        .filter(persons::id.eq(id.to_string()))
        .select(regions::time_zone)
        .first(conn)
        .optional()?;
    tz.map(|tz| Ok(stored("regions.time_zone", TimeZoneName::parse(&tz))?.local_date(now)))
        .transpose()
}
