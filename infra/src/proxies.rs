//! Family and proxy access (亲情代办): the grants principals give relatives' accounts, the
//! assisted requests a relative makes for a person without a smartphone, and the record of every
//! request made under a grant. The rules are in `shebao_domain::proxies`.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use shebao_domain::identity::PhoneNumber;
use shebao_domain::proxies::{GrantStatus, Relation, ScopeSet, StoredStatus};
use shebao_domain::region::TimeZoneName;
use shebao_security::PiiVault;
use uuid::Uuid;

use crate::db::{DbConnection, StoreError};
use crate::identity::sessions::SessionPerson;
use crate::identity::PHONE_AAD;
use crate::registry::{stored, stored_id, Page};
use crate::schema::{accounts, persons, proxy_activity, proxy_grants, proxy_requests, regions};

/// How a grant came to be: invited by the principal, or requested by the relative and
/// confirmed with the principal's SMS code.
pub const ORIGIN_INVITATION: &str = "invitation";
pub const ORIGIN_REQUEST: &str = "request";

/// A grant as stored, with the relative's phone masked.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: Uuid,
    pub principal_account_id: Uuid,
    pub principal_person_id: Uuid,
    /// The principal's name and ID number, masked.
    pub principal_name_masked: String,
    pub principal_national_id_masked: String,
    pub holder_phone_masked: String,
    pub holder_account_id: Option<Uuid>,
    pub relation: Relation,
    pub scopes: ScopeSet,
    pub stored: StoredStatus,
    pub origin: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl Grant {
    pub fn status(&self, now: DateTime<Utc>) -> GrantStatus {
        GrantStatus::at(self.stored, self.expires_at.and_utc(), now)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = proxy_grants)]
struct GrantRow {
    id: String,
    principal_account_id: String,
    principal_person_id: String,
    holder_phone_enc: String,
    holder_account_id: Option<String>,
    relation: String,
    scopes: String,
    status: String,
    origin: String,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
    accepted_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

/// What a grant query selects: the row, and its principal's name and masked ID number.
macro_rules! joined {
    () => {
        (
            GrantRow::as_select(),
            persons::name,
            persons::national_id_masked,
        )
    };
}

fn masked_phone(vault: &PiiVault, enc: &str) -> Result<String, StoreError> {
    vault
        .decrypt(enc, PHONE_AAD)
        .ok()
        .and_then(|p| PhoneNumber::parse(&p).ok())
        .map(|p| p.masked())
        .ok_or_else(|| StoreError::Corrupt("proxy_grants.holder_phone_enc".into()))
}

/// A grant row with its principal's name and masked ID number.
type Joined = (GrantRow, String, String);

fn grant_of(vault: &PiiVault, (r, name, nid): Joined) -> Result<Grant, StoreError> {
    let name = stored(
        "persons.name",
        shebao_domain::identity::PersonName::parse(&name),
    )?;
    Ok(Grant {
        principal_name_masked: name.masked(),
        principal_national_id_masked: nid,
        id: stored_id("proxy_grants.id", &r.id)?,
        principal_account_id: stored_id(
            "proxy_grants.principal_account_id",
            &r.principal_account_id,
        )?,
        principal_person_id: stored_id("proxy_grants.principal_person_id", &r.principal_person_id)?,
        holder_phone_masked: masked_phone(vault, &r.holder_phone_enc)?,
        holder_account_id: r
            .holder_account_id
            .as_deref()
            .map(|s| stored_id("proxy_grants.holder_account_id", s))
            .transpose()?,
        relation: stored("proxy_grants.relation", Relation::parse(&r.relation))?,
        scopes: stored("proxy_grants.scopes", ScopeSet::parse(&r.scopes))?,
        stored: stored("proxy_grants.status", StoredStatus::parse(&r.status))?,
        origin: r.origin,
        expires_at: r.expires_at,
        created_at: r.created_at,
        accepted_at: r.accepted_at,
        revoked_at: r.revoked_at,
    })
}

/// A grant to write.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    pub principal_account_id: Uuid,
    pub principal_person_id: Uuid,
    pub holder_phone: &'a PhoneNumber,
    pub holder_phone_hash: &'a str,
    /// Set when the grant starts active (the assisted path).
    pub holder_account_id: Option<Uuid>,
    pub relation: Relation,
    pub scopes: ScopeSet,
    pub origin: &'static str,
    pub expires_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConnection,
    vault: &PiiVault,
    g: &NewGrant<'_>,
    now: NaiveDateTime,
) -> Result<Grant, StoreError> {
    let id = Uuid::now_v7();
    let status = if g.holder_account_id.is_some() {
        StoredStatus::Active
    } else {
        StoredStatus::Invited
    };
    diesel::insert_into(proxy_grants::table)
        .values((
            proxy_grants::id.eq(id.to_string()),
            proxy_grants::principal_account_id.eq(g.principal_account_id.to_string()),
            proxy_grants::principal_person_id.eq(g.principal_person_id.to_string()),
            proxy_grants::holder_phone_hash.eq(g.holder_phone_hash),
            proxy_grants::holder_phone_enc.eq(vault.encrypt(g.holder_phone.as_e164(), PHONE_AAD)),
            proxy_grants::holder_account_id.eq(g.holder_account_id.map(|a| a.to_string())),
            proxy_grants::relation.eq(g.relation.as_str()),
            proxy_grants::scopes.eq(g.scopes.to_text()),
            proxy_grants::status.eq(status.as_str()),
            proxy_grants::origin.eq(g.origin),
            proxy_grants::expires_at.eq(g.expires_at),
            proxy_grants::created_at.eq(now),
            proxy_grants::accepted_at.eq(g.holder_account_id.map(|_| now)),
        ))
        .execute(conn)?;
    get(conn, vault, id)?.ok_or(StoreError::NotFound)
}

pub fn get(
    conn: &mut DbConnection,
    vault: &PiiVault,
    id: Uuid,
) -> Result<Option<Grant>, StoreError> {
    proxy_grants::table
        .inner_join(persons::table.on(persons::id.eq(proxy_grants::principal_person_id)))
        .filter(proxy_grants::id.eq(id.to_string()))
        .select(joined!())
        .first::<Joined>(conn)
        .optional()?
        .map(|r| grant_of(vault, r))
        .transpose()
}

/// Whose grants a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The grants the account gave (it is the principal).
    Given,
    /// The grants the account holds for others (accepted or made active).
    Held,
}

/// An account's grants on one side, newest first, keyset-paginated by id.
pub fn list(
    conn: &mut DbConnection,
    vault: &PiiVault,
    account: Uuid,
    side: Side,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Grant>, StoreError> {
    let mut q = proxy_grants::table
        .inner_join(persons::table.on(persons::id.eq(proxy_grants::principal_person_id)))
        .select(joined!())
        .order(proxy_grants::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    q = match side {
        Side::Given => q.filter(proxy_grants::principal_account_id.eq(account.to_string())),
        Side::Held => q.filter(proxy_grants::holder_account_id.eq(account.to_string())),
    };
    if let Some(after) = after {
        q = q.filter(proxy_grants::id.lt(after.to_owned()));
    }
    let rows: Vec<Joined> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| grant_of(vault, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |g| g.id.to_string()))
}

/// The open (invited, unexpired) invitations to the phone of `phone_hash`, newest first.
pub fn invitations(
    conn: &mut DbConnection,
    vault: &PiiVault,
    phone_hash: &str,
    now: NaiveDateTime,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Grant>, StoreError> {
    let mut q = proxy_grants::table
        .inner_join(persons::table.on(persons::id.eq(proxy_grants::principal_person_id)))
        .filter(proxy_grants::holder_phone_hash.eq(phone_hash))
        .filter(proxy_grants::status.eq(StoredStatus::Invited.as_str()))
        .filter(proxy_grants::expires_at.gt(now))
        .select(joined!())
        .order(proxy_grants::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(proxy_grants::id.lt(after.to_owned()));
    }
    let rows: Vec<Joined> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| grant_of(vault, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |g| g.id.to_string()))
}

/// Accepts the open invitation `id` to the phone of `phone_hash` for `holder`: `None` if there
/// is no such open invitation to this phone (someone else's, accepted, revoked or expired).
pub fn accept(
    conn: &mut DbConnection,
    vault: &PiiVault,
    id: Uuid,
    holder: Uuid,
    phone_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<Grant>, StoreError> {
    let n = diesel::update(
        proxy_grants::table
            .find(id.to_string())
            .filter(proxy_grants::holder_phone_hash.eq(phone_hash))
            .filter(proxy_grants::status.eq(StoredStatus::Invited.as_str()))
            .filter(proxy_grants::expires_at.gt(now))
            // A principal cannot hold their own grant.
            .filter(proxy_grants::principal_account_id.ne(holder.to_string())),
    )
    .set((
        proxy_grants::status.eq(StoredStatus::Active.as_str()),
        proxy_grants::holder_account_id.eq(Some(holder.to_string())),
        proxy_grants::accepted_at.eq(Some(now)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, vault, id)
}

/// Revokes the grant `id` for `account`, its principal or its holder (who gives it up). `None`
/// if the account is neither; a grant revoked already stays as it was.
pub fn revoke(
    conn: &mut DbConnection,
    vault: &PiiVault,
    id: Uuid,
    account: Uuid,
    now: NaiveDateTime,
) -> Result<Option<Grant>, StoreError> {
    let Some(grant) = get(conn, vault, id)? else {
        return Ok(None);
    };
    if grant.principal_account_id != account && grant.holder_account_id != Some(account) {
        return Ok(None);
    }
    diesel::update(
        proxy_grants::table
            .find(id.to_string())
            .filter(proxy_grants::status.ne(StoredStatus::Revoked.as_str())),
    )
    .set((
        proxy_grants::status.eq(StoredStatus::Revoked.as_str()),
        proxy_grants::revoked_at.eq(Some(now)),
    ))
    .execute(conn)?;
    get(conn, vault, id)
}

/// What a request under a live grant acts with: the grant's scopes and the principal's person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveGrant {
    pub scopes: ScopeSet,
    pub person: SessionPerson,
}

/// The grant `id` if it is active, unexpired at `now`, held by `holder` for `principal`, and the
/// principal's account is still bound to the person it was given for; with that person and
/// their region's calendar. The one read every request with a proxy token makes.
pub fn live(
    conn: &mut DbConnection,
    id: Uuid,
    principal: Uuid,
    holder: Uuid,
    now: NaiveDateTime,
) -> Result<Option<LiveGrant>, StoreError> {
    let row: Option<(String, String, String, i32)> = proxy_grants::table
        .inner_join(
            accounts::table.on(accounts::id
                .eq(proxy_grants::principal_account_id)
                .and(accounts::person_id.eq(proxy_grants::principal_person_id.nullable()))),
        )
        .inner_join(persons::table.on(persons::id.eq(proxy_grants::principal_person_id)))
        .inner_join(regions::table.on(regions::code.eq(persons::region_code)))
        .filter(proxy_grants::id.eq(id.to_string()))
        .filter(proxy_grants::principal_account_id.eq(principal.to_string()))
        .filter(proxy_grants::holder_account_id.eq(holder.to_string()))
        .filter(proxy_grants::status.eq(StoredStatus::Active.as_str()))
        .filter(proxy_grants::expires_at.gt(now))
        .select((
            proxy_grants::principal_person_id,
            proxy_grants::scopes,
            regions::time_zone,
            regions::contribution_due_day,
        ))
        .first(conn)
        .optional()?;
    let Some((person_id, scopes, tz, due_day)) = row else {
        return Ok(None);
    };
    Ok(Some(LiveGrant {
        scopes: stored("proxy_grants.scopes", ScopeSet::parse(&scopes))?,
        person: SessionPerson {
            id: stored_id("proxy_grants.principal_person_id", &person_id)?,
            time_zone: stored("regions.time_zone", TimeZoneName::parse(&tz))?,
            due_day: u8::try_from(due_day).map_err(|_| {
                StoreError::Corrupt(format!("regions.contribution_due_day: {due_day}"))
            })?,
        },
    }))
}

/// One request made with a proxy token, to record.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub grant_id: Uuid,
    pub principal_account_id: Uuid,
    pub holder_account_id: Uuid,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub device: String,
    pub client_ip: Option<String>,
}

pub fn record_activity(
    conn: &mut DbConnection,
    a: &NewActivity,
    now: NaiveDateTime,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    diesel::insert_into(proxy_activity::table)
        .values((
            proxy_activity::id.eq(id.to_string()),
            proxy_activity::grant_id.eq(a.grant_id.to_string()),
            proxy_activity::principal_account_id.eq(a.principal_account_id.to_string()),
            proxy_activity::holder_account_id.eq(a.holder_account_id.to_string()),
            proxy_activity::method.eq(&a.method),
            proxy_activity::route.eq(&a.route),
            proxy_activity::status.eq(i32::from(a.status)),
            proxy_activity::device.eq(&a.device),
            proxy_activity::client_ip.eq(a.client_ip.as_deref()),
            proxy_activity::occurred_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A recorded request, with the grant's relation and the relative's phone, masked.
#[derive(Debug, Clone)]
pub struct Activity {
    pub id: Uuid,
    /// For whom (the principal's name, masked).
    pub principal_name_masked: String,
    pub grant_id: Uuid,
    pub holder_account_id: Uuid,
    pub holder_phone_masked: String,
    pub relation: Relation,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub device: String,
    pub client_ip: Option<String>,
    pub occurred_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = proxy_activity)]
struct ActivityRow {
    id: String,
    grant_id: String,
    holder_account_id: String,
    method: String,
    route: String,
    status: i32,
    device: String,
    client_ip: Option<String>,
    occurred_at: NaiveDateTime,
}

/// The requests made in the name of `principal` (`Side::Given`) or by `holder` for others
/// (`Side::Held`), newest first, keyset-paginated by id.
pub fn activity(
    conn: &mut DbConnection,
    vault: &PiiVault,
    account: Uuid,
    side: Side,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Activity>, StoreError> {
    let mut q = proxy_activity::table
        .inner_join(proxy_grants::table)
        .inner_join(persons::table.on(persons::id.eq(proxy_grants::principal_person_id)))
        .select((
            ActivityRow::as_select(),
            proxy_grants::relation,
            proxy_grants::holder_phone_enc,
            persons::name,
        ))
        .order(proxy_activity::id.desc())
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    q = match side {
        Side::Given => q.filter(proxy_activity::principal_account_id.eq(account.to_string())),
        Side::Held => q.filter(proxy_activity::holder_account_id.eq(account.to_string())),
    };
    if let Some(after) = after {
        q = q.filter(proxy_activity::id.lt(after.to_owned()));
    }
    let rows: Vec<(ActivityRow, String, String, String)> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(|(r, relation, enc, name)| {
            Ok(Activity {
                principal_name_masked: stored(
                    "persons.name",
                    shebao_domain::identity::PersonName::parse(&name),
                )?
                .masked(),
                id: stored_id("proxy_activity.id", &r.id)?,
                grant_id: stored_id("proxy_activity.grant_id", &r.grant_id)?,
                holder_account_id: stored_id(
                    "proxy_activity.holder_account_id",
                    &r.holder_account_id,
                )?,
                holder_phone_masked: masked_phone(vault, &enc)?,
                relation: stored("proxy_grants.relation", Relation::parse(&relation))?,
                method: r.method,
                route: r.route,
                status: u16::try_from(r.status)
                    .map_err(|_| StoreError::Corrupt("proxy_activity.status".into()))?,
                device: r.device,
                client_ip: r.client_ip,
                occurred_at: r.occurred_at,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::from_rows(items, limit, |a| a.id.to_string()))
}

// ---------------------------------------------------------------------------------------------
// The assisted path

/// A relative's request, as the confirm step reads it.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: Uuid,
    pub requester_account_id: Uuid,
    pub person_id: Option<Uuid>,
    pub principal_account_id: Option<Uuid>,
    pub code_hash: Option<String>,
    pub relation: Relation,
    pub scopes: ScopeSet,
    pub status: String,
    pub attempts: i32,
    pub code_expires_at: NaiveDateTime,
    pub grant_id: Option<Uuid>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = proxy_requests)]
struct RequestRow {
    id: String,
    requester_account_id: String,
    person_id: Option<String>,
    principal_account_id: Option<String>,
    code_hash: Option<String>,
    relation: String,
    scopes: String,
    status: String,
    attempts: i32,
    code_expires_at: NaiveDateTime,
    grant_id: Option<String>,
}

fn opt_id(column: &'static str, s: Option<&str>) -> Result<Option<Uuid>, StoreError> {
    s.map(|s| stored_id(column, s)).transpose()
}

fn request_of(r: RequestRow) -> Result<Request, StoreError> {
    Ok(Request {
        id: stored_id("proxy_requests.id", &r.id)?,
        requester_account_id: stored_id(
            "proxy_requests.requester_account_id",
            &r.requester_account_id,
        )?,
        person_id: opt_id("proxy_requests.person_id", r.person_id.as_deref())?,
        principal_account_id: opt_id(
            "proxy_requests.principal_account_id",
            r.principal_account_id.as_deref(),
        )?,
        code_hash: r.code_hash,
        relation: stored("proxy_requests.relation", Relation::parse(&r.relation))?,
        scopes: stored("proxy_requests.scopes", ScopeSet::parse(&r.scopes))?,
        status: r.status,
        attempts: r.attempts,
        code_expires_at: r.code_expires_at,
        grant_id: opt_id("proxy_requests.grant_id", r.grant_id.as_deref())?,
    })
}

/// A request to write. `person_id`, `principal_account_id` and `code_hash` are `None` when the
/// national ID and name matched no bound person: the request is kept all the same, so the
/// answer and the work done are the same either way, and no code will ever confirm it.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: Uuid,
    pub requester_account_id: Uuid,
    pub person_id: Option<Uuid>,
    pub principal_account_id: Option<Uuid>,
    pub code_hash: Option<String>,
    pub relation: Relation,
    pub scopes: ScopeSet,
    pub code_expires_at: NaiveDateTime,
}

pub const REQUEST_PENDING: &str = "pending";
pub const REQUEST_CONFIRMED: &str = "confirmed";
pub const REQUEST_FAILED: &str = "failed";

pub fn insert_request(
    conn: &mut DbConnection,
    r: &NewRequest,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(proxy_requests::table)
        .values((
            proxy_requests::id.eq(r.id.to_string()),
            proxy_requests::requester_account_id.eq(r.requester_account_id.to_string()),
            proxy_requests::person_id.eq(r.person_id.map(|p| p.to_string())),
            proxy_requests::principal_account_id.eq(r.principal_account_id.map(|p| p.to_string())),
            proxy_requests::code_hash.eq(r.code_hash.as_deref()),
            proxy_requests::relation.eq(r.relation.as_str()),
            proxy_requests::scopes.eq(r.scopes.to_text()),
            proxy_requests::status.eq(REQUEST_PENDING),
            proxy_requests::attempts.eq(0),
            proxy_requests::code_expires_at.eq(r.code_expires_at),
            proxy_requests::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The request `id` of `requester`, if it is theirs.
pub fn request_of_requester(
    conn: &mut DbConnection,
    id: Uuid,
    requester: Uuid,
) -> Result<Option<Request>, StoreError> {
    proxy_requests::table
        .find(id.to_string())
        .filter(proxy_requests::requester_account_id.eq(requester.to_string()))
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .map(request_of)
        .transpose()
}

/// When `requester` made requests since `since`.
pub fn requests_since(
    conn: &mut DbConnection,
    requester: Uuid,
    since: NaiveDateTime,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    let rows: Vec<NaiveDateTime> = proxy_requests::table
        .filter(proxy_requests::requester_account_id.eq(requester.to_string()))
        .filter(proxy_requests::created_at.ge(since))
        .select(proxy_requests::created_at)
        .load(conn)?;
    Ok(rows.into_iter().map(|t| t.and_utc()).collect())
}

/// The account bound to `person`, if any.
pub fn bound_account(conn: &mut DbConnection, person: Uuid) -> Result<Option<Uuid>, StoreError> {
    let id: Option<String> = accounts::table
        .filter(accounts::person_id.eq(person.to_string()))
        .select(accounts::id)
        .first(conn)
        .optional()?;
    id.map(|id| stored_id("accounts.id", &id)).transpose()
}

/// Counts one more try at the request's code.
pub fn count_attempt(conn: &mut DbConnection, id: Uuid) -> Result<(), StoreError> {
    diesel::update(proxy_requests::table.find(id.to_string()))
        .set(proxy_requests::attempts.eq(proxy_requests::attempts + 1))
        .execute(conn)?;
    Ok(())
}

/// Ends the request: `REQUEST_CONFIRMED` with its grant, or `REQUEST_FAILED`.
pub fn finish_request(
    conn: &mut DbConnection,
    id: Uuid,
    status: &str,
    grant: Option<Uuid>,
) -> Result<(), StoreError> {
    diesel::update(proxy_requests::table.find(id.to_string()))
        .set((
            proxy_requests::status.eq(status),
            proxy_requests::grant_id.eq(grant.map(|g| g.to_string())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Why a relative's code did not confirm their request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotConfirmed {
    /// No request of this id by this account.
    NotFound,
    /// The code is wrong, expired or used up, or the person is no longer bound to the account
    /// the code went to: one answer for all, so nothing is learnt from it.
    Invalid,
}

/// Confirms the relative's request `id` with `code`, inside the caller's transaction: counts the
/// try (the request fails with the last one allowed), and with the principal's code, while the
/// person is still bound to the account it went to, makes the grant (active for
/// [`shebao_domain::proxies::ASSISTED_GRANT_DAYS`]) and closes the request.
pub fn confirm_request(
    conn: &mut DbConnection,
    vault: &PiiVault,
    id: Uuid,
    requester: Uuid,
    code: &str,
    now: NaiveDateTime,
) -> Result<Result<Grant, NotConfirmed>, StoreError> {
    use shebao_domain::proxies::{ASSISTED_GRANT_DAYS, CODE_MAX_ATTEMPTS};
    let Some(r) = request_of_requester(conn, id, requester)? else {
        return Ok(Err(NotConfirmed::NotFound));
    };
    if r.status != REQUEST_PENDING || r.code_expires_at <= now || r.attempts >= CODE_MAX_ATTEMPTS {
        return Ok(Err(NotConfirmed::Invalid));
    }
    count_attempt(conn, id)?;
    let given = crate::identity::codes::code_hash(vault, id, code);
    // Keyed hashes are compared: timing tells nothing of the code.
    let right = r.code_hash.as_deref() == Some(given.as_str());
    let (true, Some(principal), Some(person_id)) = (right, r.principal_account_id, r.person_id)
    else {
        if r.attempts + 1 >= CODE_MAX_ATTEMPTS {
            finish_request(conn, id, REQUEST_FAILED, None)?;
        }
        return Ok(Err(NotConfirmed::Invalid));
    };
    // Still bound to the person it was asked for, and the requester still has a phone.
    let (Some(bound), Some(phone), Some(me)) = (
        bound_account(conn, person_id)?,
        crate::identity::accounts::phone(conn, vault, requester)?,
        crate::identity::accounts::get(conn, requester)?,
    ) else {
        return Ok(Err(NotConfirmed::Invalid));
    };
    if bound != principal {
        return Ok(Err(NotConfirmed::Invalid));
    }
    let g = insert(
        conn,
        vault,
        &NewGrant {
            principal_account_id: principal,
            principal_person_id: person_id,
            holder_phone: &phone,
            holder_phone_hash: &me.phone_hash,
            holder_account_id: Some(requester),
            relation: r.relation,
            scopes: r.scopes,
            origin: ORIGIN_REQUEST,
            expires_at: now + chrono::Duration::days(ASSISTED_GRANT_DAYS),
        },
        now,
    )?;
    finish_request(conn, id, REQUEST_CONFIRMED, Some(g.id))?;
    Ok(Ok(g))
}

// ---------------------------------------------------------------------------------------------
// The assisted path's code, sent through the jobs system

/// The job that texts the principal the code of a relative's request.
pub const CODE_SMS_KIND: &str = "sms.proxy_code";

/// What the job carries: the code encrypted under the request's id (never in clear at rest).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CodePayload {
    pub request_id: Uuid,
    pub account_id: Uuid,
    pub code_enc: String,
}

fn code_aad(request: Uuid) -> Vec<u8> {
    format!("proxy_requests.code:{request}").into_bytes()
}

/// Queues the text of `code` to the principal's `account`, at once (a code cannot wait for
/// daylight), once per request.
pub fn enqueue_code(
    conn: &mut DbConnection,
    vault: &PiiVault,
    request: Uuid,
    account: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let payload = CodePayload {
        request_id: request,
        account_id: account,
        code_enc: vault.encrypt(code, &code_aad(request)),
    };
    let job = crate::jobs::NewJob {
        kind: shebao_domain::jobs::JobKind::parse(CODE_SMS_KIND)
            .map_err(|e| StoreError::Config(format!("job kind: {e}")))?,
        payload: serde_json::to_string(&payload)
            .map_err(|e| StoreError::Config(format!("payload: {e}")))?,
        run_at: now,
        max_attempts: 3,
        dedupe_key: Some(format!("sms:proxy_code:{request}")),
    };
    crate::jobs::queue::enqueue(conn, &job, now)?;
    Ok(())
}

/// Sends the code of a request still pending and unexpired; a request confirmed, failed or
/// expired meanwhile is not texted.
#[derive(Clone)]
pub struct ProxyCodeSms {
    pub sms: std::sync::Arc<dyn shebao_domain::ports::SmsSender>,
    pub vault: PiiVault,
}

impl crate::jobs::JobHandler for ProxyCodeSms {
    fn run<'a>(
        &'a self,
        ctx: &'a crate::jobs::JobContext,
        job: &'a crate::jobs::Job,
    ) -> crate::jobs::JobFuture<'a> {
        use crate::jobs::{JobDone, JobFailure};
        Box::pin(async move {
            let p: CodePayload = serde_json::from_str(&job.payload)
                .map_err(|e| JobFailure::permanent(e.to_string()))?;
            let now = ctx.clock.now().naive_utc();
            let vault = self.vault.clone();
            let (request_id, account) = (p.request_id, p.account_id);
            let (open, phone) = ctx
                .db
                .run(move |c| {
                    let open: Option<(String, NaiveDateTime)> = proxy_requests::table
                        .find(request_id.to_string())
                        .select((proxy_requests::status, proxy_requests::code_expires_at))
                        .first(c)
                        .optional()?;
                    let open = open.is_some_and(|(s, until)| s == REQUEST_PENDING && until > now);
                    Ok((open, crate::identity::accounts::phone(c, &vault, account)?))
                })
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            let (true, Some(to)) = (open, phone) else {
                return Ok(JobDone::Done);
            };
            let code = self
                .vault
                .decrypt(&p.code_enc, &code_aad(request_id))
                .map_err(|e| JobFailure::permanent(e.to_string()))?;
            let message = shebao_domain::ports::SmsMessage {
                id: job.id.to_string(),
                to,
                body: format!(
                    "【社保】您的亲属正在申请为您办理亲情代办，验证码 {code}，5 分钟内有效。如您同意，请把验证码告诉对方；如不认识对方，请勿透露。"
                ),
            };
            self.sms
                .send(&message)
                .await
                .map_err(|e| JobFailure::retry(e.to_string()))?;
            Ok(JobDone::Done)
        })
    }
}
