//! Designated hospitals and pharmacies (医保定点) and appointments (预约挂号): the import row, the
//! "near me" list and one institution, slots, and the person's appointments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::wire::MedicalCategory;

/// What kind of place an institution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    /// 医院
    Hospital,
    /// 药店
    Pharmacy,
    /// 诊所、社区卫生服务中心
    Clinic,
}

/// One institution line of `POST /v1/staff/institutions:import`, idempotent on `code`. In CSV
/// the lists are `|`-separated (`employee|resident`, `内科|外科`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InstitutionImportRow {
    /// The institution's code (医保定点机构编码): 1–32 of `A–Z a–z 0–9 - _`.
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    pub kind: InstitutionKind,
    /// 3 (三级), 2 (二级) or 1 (一级); absent for a pharmacy or an ungraded clinic.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3)]
    pub level: Option<u8>,
    /// The 6-digit code of a region the registry holds.
    #[schema(pattern = "^[1-9][0-9]{5}$")]
    pub region: String,
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    /// `0755-83923333`: 5–20 characters of digits, `+`, `-`, spaces and brackets.
    #[schema(min_length = 5, max_length = 20)]
    pub phone: String,
    /// WGS-84 decimal degrees, 3–54 (China's range); kept to the microdegree.
    #[schema(minimum = 3, maximum = 54)]
    pub latitude: f64,
    /// WGS-84 decimal degrees, 73–136.
    #[schema(minimum = 73, maximum = 136)]
    pub longitude: f64,
    /// The schemes it is designated for: at least one, each once.
    #[schema(min_items = 1, max_items = 2)]
    pub medical_categories: Vec<MedicalCategory>,
    /// Its departments (科室), each 1–32 characters without `|`, each once, at most 64.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub departments: Option<Vec<String>>,
    /// It settles treatment filed for its region by persons insured elsewhere (异地就医直接结算);
    /// default false.
    #[serde(default)]
    pub accepts_filed_elsewhere: Option<bool>,
}

/// The "near me" search.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstitutionQuery {
    /// Latitude of the point, WGS-84 decimal degrees (3–54).
    #[param(value_type = f64, required = true, minimum = 3, maximum = 54, example = 22.5431)]
    pub lat: Option<String>,
    /// Longitude of the point (73–136).
    #[param(value_type = f64, required = true, minimum = 73, maximum = 136, example = 114.0579)]
    pub lon: Option<String>,
    /// Radius in kilometres, more than 0 and at most 50 (to the metre); default 5.
    #[param(value_type = Option<f64>, exclusive_minimum = 0, maximum = 50, example = 5)]
    pub radius_km: Option<String>,
    /// Only this kind.
    #[param(value_type = Option<InstitutionKind>)]
    pub kind: Option<String>,
    /// Only institutions with this department (exact name, e.g. `内科`; no `|`).
    #[param(
        min_length = 1,
        max_length = 32,
        pattern = r"^[^|\x00-\x1f\x7f-\x9f]*[^|\s\x00-\x1f\x7f-\x9f][^|\x00-\x1f\x7f-\x9f]*$"
    )]
    pub department: Option<String>,
    /// Only this grade (1–3).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 3)]
    pub level: Option<String>,
    /// 1–100, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page of the same search: the distance and code of its
    /// last institution; the next page starts after it in (distance, code) order. One no page
    /// gave reads as a position like any other: it never fails, at worst the page is empty.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

/// An institution near the point asked about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "code": "H44030400001", "name": "北京大学深圳医院", "kind": "hospital", "level": 3,
    "region": "440300", "address": "深圳市福田区莲花路1120号", "phone": "0755-83923333",
    "latitude": 22.561, "longitude": 114.048, "geo_uri": "geo:22.561,114.048",
    "medical_categories": ["employee", "resident"], "departments": ["内科", "外科", "儿科"],
    "accepts_filed_elsewhere": true, "distance_m": 2141, "covered": true
}))]
pub struct NearbyInstitution {
    #[serde(flatten)]
    pub institution: InstitutionView,
    /// Great-circle distance from the point, whole metres.
    pub distance_m: u32,
}

/// An institution.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "code": "H44030400001", "name": "北京大学深圳医院", "kind": "hospital", "level": 3,
    "region": "440300", "address": "深圳市福田区莲花路1120号", "phone": "0755-83923333",
    "latitude": 22.561, "longitude": 114.048, "geo_uri": "geo:22.561,114.048",
    "medical_categories": ["employee", "resident"], "departments": ["内科", "外科", "儿科"],
    "accepts_filed_elsewhere": true, "covered": true
}))]
pub struct InstitutionView {
    pub code: String,
    pub name: String,
    pub kind: InstitutionKind,
    /// 3 (三级), 2 (二级), 1 (一级), or null.
    pub level: Option<u8>,
    pub region: String,
    pub address: String,
    pub phone: String,
    pub latitude: f64,
    pub longitude: f64,
    /// RFC 5870 URI for the phone's map app.
    #[schema(example = "geo:22.561,114.048")]
    pub geo_uri: String,
    pub medical_categories: Vec<MedicalCategory>,
    pub departments: Vec<String>,
    pub accepts_filed_elsewhere: bool,
    /// Present only when the caller is a signed-in person bound to their ID card: whether their
    /// medical insurance covers treatment here today. Designated for their scheme and in their
    /// region; or, in another region, designated for their scheme, settling filed treatment
    /// (`accepts_filed_elsewhere`) and with an approved medical filing of theirs for that region
    /// that runs today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered: Option<bool>,
}

/// A page of institutions, nearest first (ties by code).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NearbyList {
    pub items: Vec<NearbyInstitution>,
    /// Pass as `cursor` (with the same search) for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A slot to publish.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"department": "内科", "starts_at": "2026-11-26T01:00:00Z", "ends_at": "2026-11-26T01:30:00Z", "capacity": 10}))]
pub struct SlotRequest {
    /// One of the institution's departments.
    #[schema(
        min_length = 1,
        max_length = 32,
        pattern = r"^[^|\x00-\x1f\x7f-\x9f]*[^|\s\x00-\x1f\x7f-\x9f][^|\x00-\x1f\x7f-\x9f]*$"
    )]
    pub department: String,
    /// In the future.
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`, within 24 hours of it.
    pub ends_at: DateTime<Utc>,
    #[schema(minimum = 1, maximum = 500)]
    pub capacity: i64,
}

/// A slot and how many places are left.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b", "institution_code": "H44030400001", "department": "内科", "starts_at": "2026-11-26T01:00:00Z", "ends_at": "2026-11-26T01:30:00Z", "capacity": 10, "places_left": 3}))]
pub struct SlotView {
    pub id: Uuid,
    pub institution_code: String,
    pub department: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub places_left: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotList {
    pub items: Vec<SlotView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Which slots to list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// Only this department (no `|`).
    #[param(
        min_length = 1,
        max_length = 32,
        pattern = r"^[^|\x00-\x1f\x7f-\x9f]*[^|\s\x00-\x1f\x7f-\x9f][^|\x00-\x1f\x7f-\x9f]*$"
    )]
    pub department: Option<String>,
    /// Slots starting at or after this instant (RFC 3339); default now.
    #[param(value_type = Option<DateTime<Utc>>, example = "2026-11-24T00:00:00Z")]
    pub from: Option<String>,
    /// Slots starting before this instant (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>, example = "2026-12-01T00:00:00Z")]
    pub to: Option<String>,
    /// 1–100, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(
        max_length = 344,
        pattern = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
    )]
    pub cursor: Option<String>,
}

/// A booking.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slot_id": "019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"}))]
pub struct AppointmentRequest {
    pub slot_id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    Cancelled,
}

/// Where the appointment is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppointmentPlace {
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
}

/// An appointment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c5-0000-7000-8000-000000000001", "status": "booked",
    "institution": {"code": "H44030400001", "name": "北京大学深圳医院", "address": "深圳市福田区莲花路1120号", "phone": "0755-83923333"},
    "slot": {"id": "019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b", "institution_code": "H44030400001", "department": "内科", "starts_at": "2026-11-26T01:00:00Z", "ends_at": "2026-11-26T01:30:00Z", "capacity": 10, "places_left": 2},
    "created_at": "2026-11-23T08:00:00Z"
}))]
pub struct AppointmentView {
    pub id: Uuid,
    pub status: AppointmentStatus,
    pub institution: AppointmentPlace,
    pub slot: SlotView,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppointmentList {
    pub items: Vec<AppointmentView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
