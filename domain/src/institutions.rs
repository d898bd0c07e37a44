//! Designated hospitals and pharmacies (医保定点医药机构) and their appointment slots: what an
//! institution is, where it is (haversine distances over mainland China), whose insurance
//! covers it, and the rules of a slot and of its reminder.
//!
//! Positions are kept as whole microdegrees (`i32`), about 0.11 m on the ground: exact to store,
//! to index and to compare (a re-import of the same row is equal to the stored one), and far
//! finer than an address.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::person::MedicalCategory;
use crate::region::{RegionCode, TimeZoneName};
use crate::text::bounded_text;
use crate::ValueError;

pub mod atlas;

// ---------------------------------------------------------------------------------------------
// What an institution is

/// An institution's code (its 医保定点机构编码): 1–32 characters of `A–Z a–z 0–9 - _`, so it
/// travels in a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstitutionCode(String);

impl InstitutionCode {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(s: &str) -> Result<InstitutionCode, ValueError> {
        let code = s.trim();
        if code.is_empty() {
            return Err(ValueError::Empty);
        }
        if code.len() > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ValueError::Format {
                expected: "letters, digits, - and _",
            });
        }
        Ok(InstitutionCode(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What kind of place it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstitutionKind {
    Hospital,
    Pharmacy,
    Clinic,
}

string_enum!(InstitutionKind, allowed = "hospital, pharmacy, clinic", {
    Hospital => "hospital",
    Pharmacy => "pharmacy",
    Clinic => "clinic",
});

/// A hospital's grade (三级 3, 二级 2, 一级 1); pharmacies and ungraded clinics have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Level(u8);

impl Level {
    pub fn new(level: i64) -> Result<Level, ValueError> {
        match level {
            1..=3 => Ok(Level(level as u8)),
            _ => Err(ValueError::Range { min: 1, max: 3 }),
        }
    }

    pub fn parse(s: &str) -> Result<Level, ValueError> {
        let n: i64 = s
            .trim()
            .parse()
            .map_err(|_| ValueError::Range { min: 1, max: 3 })?;
        Level::new(n)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A department (科室) of an institution, as its slots name it: 1–32 characters, no control
/// character and no `|` (which separates the departments in a CSV import).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Department(String);

impl Department {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(s: &str) -> Result<Department, ValueError> {
        let name = bounded_text(s, Self::MAX_CHARS)?;
        if name.contains('|') {
            return Err(ValueError::Rule("must not contain |"));
        }
        Ok(Department(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A telephone number as an institution publishes it (`0755-83923333`, `400-820-1234`,
/// `13800138000`): 5–20 characters of digits, `+`, `-`, spaces and brackets, at least 5 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstitutionPhone(String);

impl InstitutionPhone {
    pub fn parse(s: &str) -> Result<InstitutionPhone, ValueError> {
        const FORMAT: ValueError = ValueError::Format {
            expected: "a telephone number such as 0755-83923333",
        };
        let phone = s.trim();
        if phone.is_empty() {
            return Err(ValueError::Empty);
        }
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !allowed || !(5..=20).contains(&phone.len()) || digits < 5 {
            return Err(FORMAT);
        }
        Ok(InstitutionPhone(phone.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The medical insurance schemes an institution is designated for: at least one, each once,
/// kept in the order `employee`, `resident`.
pub fn medical_categories(list: &[MedicalCategory]) -> Result<Vec<MedicalCategory>, ValueError> {
    if list.is_empty() {
        return Err(ValueError::Rule("must name at least one category"));
    }
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    if out.len() != list.len() {
        return Err(ValueError::Rule("names a category more than once"));
    }
    Ok(out)
}

/// An institution's departments: each once, at most [`MAX_DEPARTMENTS`], in the order given.
pub fn departments(list: Vec<Department>) -> Result<Vec<Department>, ValueError> {
    if list.len() > MAX_DEPARTMENTS {
        return Err(ValueError::Rule("names more than 64 departments"));
    }
    for (i, d) in list.iter().enumerate() {
        if list[..i].contains(d) {
            return Err(ValueError::Rule("names a department more than once"));
        }
    }
    Ok(list)
}

/// The most departments one institution lists.
pub const MAX_DEPARTMENTS: usize = 64;

// ---------------------------------------------------------------------------------------------
// Where it is

/// The mean radius of the Earth (IUGG), in metres: the haversine's sphere.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The box every position must fall in: mainland China, Hong Kong, Macao and Taiwan with their
/// islands, from Zengmu Ansha (3.9° N) to Mohe (53.6° N) and from the Pamirs (73.5° E) to the
/// Wusuli (135.1° E), with a little margin. China spans no antimeridian, so longitudes never wrap.
pub const LAT_MIN_E6: i32 = 3_000_000;
pub const LAT_MAX_E6: i32 = 54_000_000;
pub const LON_MIN_E6: i32 = 73_000_000;
pub const LON_MAX_E6: i32 = 136_000_000;

/// A position in China, in microdegrees (WGS-84 as the importer sends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeoPoint {
    lat_e6: i32,
    lon_e6: i32,
}

/// Decimal degrees as text (`22.543096`, `-0.5`, `114`) to whole microdegrees, rounded half
/// away from zero at the seventh decimal. Read digit by digit, never through a float, so the same
/// text always gives the same value.
fn microdegrees(s: &str) -> Result<i64, ValueError> {
    const FORMAT: ValueError = ValueError::Format {
        expected: "decimal degrees such as 22.543096",
    };
    let s = s.trim();
    match plain_microdegrees(s) {
        Ok(v) => Ok(v),
        // Other spellings of a number (`2.25e1`, `.5`): through a float, rounded.
        Err(_) => match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v.abs() < 1000.0 => Ok((v * 1e6).round() as i64),
            _ => Err(FORMAT),
        },
    }
}

/// A plain decimal (`-22.5430965`), digit by digit.
fn plain_microdegrees(s: &str) -> Result<i64, ValueError> {
    const FORMAT: ValueError = ValueError::Format {
        expected: "decimal degrees such as 22.543096",
    };
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty()
        || whole.len() > 3
        || fraction.len() > 15
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (body.contains('.') && fraction.is_empty())
    {
        return Err(FORMAT);
    }
    let mut value: i64 = whole.parse().map_err(|_| FORMAT)?;
    let digits: Vec<i64> = fraction.bytes().map(|b| i64::from(b - b'0')).collect();
    for i in 0..6 {
        value = value * 10 + digits.get(i).copied().unwrap_or(0);
    }
    if digits.get(6).is_some_and(|&d| d >= 5) {
        value += 1;
    }
    Ok(if negative { -value } else { value })
}

impl GeoPoint {
    /// A position from microdegrees, inside China's box.
    pub fn from_e6(lat_e6: i64, lon_e6: i64) -> Result<GeoPoint, (&'static str, ValueError)> {
        let lat = i32::try_from(lat_e6)
            .ok()
            .filter(|v| (LAT_MIN_E6..=LAT_MAX_E6).contains(v))
            .ok_or((
                "latitude",
                ValueError::Range {
                    min: i64::from(LAT_MIN_E6 / 1_000_000),
                    max: i64::from(LAT_MAX_E6 / 1_000_000),
                },
            ))?;
        let lon = i32::try_from(lon_e6)
            .ok()
            .filter(|v| (LON_MIN_E6..=LON_MAX_E6).contains(v))
            .ok_or((
                "longitude",
                ValueError::Range {
                    min: i64::from(LON_MIN_E6 / 1_000_000),
                    max: i64::from(LON_MAX_E6 / 1_000_000),
                },
            ))?;
        Ok(GeoPoint {
            lat_e6: lat,
            lon_e6: lon,
        })
    }

    /// Parses one coordinate's text as degrees: the latitude's or the longitude's.
    pub fn degrees(s: &str) -> Result<i64, ValueError> {
        microdegrees(s)
    }

    /// A position from decimal-degree texts; the error names the coordinate at fault. The range
    /// is checked on the value as written too, so `54.0000001` is out although it rounds to 54.
    pub fn parse(lat: &str, lon: &str) -> Result<GeoPoint, (&'static str, ValueError)> {
        let lat_e6 = microdegrees(lat).map_err(|e| ("latitude", e))?;
        let lon_e6 = microdegrees(lon).map_err(|e| ("longitude", e))?;
        let p = GeoPoint::from_e6(lat_e6, lon_e6)?;
        let written = |s: &str| s.trim().parse::<f64>().ok();
        let inside = |v: Option<f64>, min: i32, max: i32| {
            v.is_none_or(|v| f64::from(min) / 1e6 <= v && v <= f64::from(max) / 1e6)
        };
        if !inside(written(lat), LAT_MIN_E6, LAT_MAX_E6) {
            return GeoPoint::from_e6(i64::MAX, lon_e6);
        }
        if !inside(written(lon), LON_MIN_E6, LON_MAX_E6) {
            return GeoPoint::from_e6(lat_e6, i64::MAX);
        }
        Ok(p)
    }

    pub fn lat_e6(self) -> i32 {
        self.lat_e6
    }

    pub fn lon_e6(self) -> i32 {
        self.lon_e6
    }

    pub fn lat(self) -> f64 {
        f64::from(self.lat_e6) / 1e6
    }

    pub fn lon(self) -> f64 {
        f64::from(self.lon_e6) / 1e6
    }

    /// The great-circle distance in metres (haversine on a sphere of [`EARTH_RADIUS_M`]; within
    /// 0.5 % of the ellipsoid's distance, which is what a "near me" list needs).
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        let (p1, p2) = (self.lat().to_radians(), other.lat().to_radians());
        let dp = p2 - p1;
        let dl = (other.lon() - self.lon()).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.clamp(0.0, 1.0).sqrt().asin()
    }

    /// The distance rounded to whole metres: what lists show and sort on.
    pub fn whole_metres(self, other: GeoPoint) -> u32 {
        // At most half the Earth's circumference: always fits.
        self.distance_m(other).round() as u32
    }

    /// The RFC 5870 URI a phone's map app opens: `geo:22.54,114.06` (WGS-84, the default CRS).
    pub fn geo_uri(self) -> String {
        format!(
            "geo:{},{}",
            decimal_degrees(self.lat_e6),
            decimal_degrees(self.lon_e6)
        )
    }

    /// The smallest box of whole microdegrees that holds every point within `radius_m` of here
    /// (a circle's extent in longitude is widest at `asin(sin(r/R) / cos φ)`, not at the centre's
    /// parallel). Searches read this box from an index, then keep what is really within reach.
    pub fn bounding_box(self, radius_m: u32) -> BoundingBox {
        let angular = f64::from(radius_m) / EARTH_RADIUS_M;
        let dlat = angular.to_degrees();
        let lat = self.lat().to_radians();
        let dlon = (angular.sin() / lat.cos())
            .clamp(-1.0, 1.0)
            .asin()
            .to_degrees();
        // One microdegree of margin on each side against rounding.
        let e6 = |deg: f64| (deg * 1e6).ceil() as i64 + 1;
        let (dlat, dlon) = (e6(dlat), e6(dlon));
        let (lat, lon) = (i64::from(self.lat_e6), i64::from(self.lon_e6));
        let clamp = |v: i64| i32::try_from(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)));
        BoundingBox {
            min_lat_e6: clamp(lat - dlat).unwrap_or(i32::MIN),
            max_lat_e6: clamp(lat + dlat).unwrap_or(i32::MAX),
            min_lon_e6: clamp(lon - dlon).unwrap_or(i32::MIN),
            max_lon_e6: clamp(lon + dlon).unwrap_or(i32::MAX),
        }
    }
}

/// Microdegrees as the shortest decimal text: `22540000` → `22.54`, `114000000` → `114`.
pub fn decimal_degrees(e6: i32) -> String {
    let sign = if e6 < 0 { "-" } else { "" };
    let abs = e6.unsigned_abs();
    let (whole, fraction) = (abs / 1_000_000, abs % 1_000_000);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:06}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// A range of latitudes and longitudes, in microdegrees, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundingBox {
    pub min_lat_e6: i32,
    pub max_lat_e6: i32,
    pub min_lon_e6: i32,
    pub max_lon_e6: i32,
}

impl BoundingBox {
    pub fn contains(&self, p: GeoPoint) -> bool {
        (self.min_lat_e6..=self.max_lat_e6).contains(&p.lat_e6)
            && (self.min_lon_e6..=self.max_lon_e6).contains(&p.lon_e6)
    }
}

/// What a "near me" search is narrowed to besides the place: each given part must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NearFilter {
    pub kind: Option<InstitutionKind>,
    pub level: Option<Level>,
    pub department: Option<Department>,
}

impl NearFilter {
    /// Whether an institution of `kind` and `level` listing `departments` passes.
    pub fn admits(
        &self,
        kind: InstitutionKind,
        level: Option<Level>,
        departments: &[String],
    ) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self.level.is_none_or(|l| level == Some(l))
            && self
                .department
                .as_ref()
                .is_none_or(|d| departments.iter().any(|have| have == d.as_str()))
    }
}

/// The widest search: 50 km around a point.
pub const MAX_RADIUS_M: u32 = 50_000;
/// The search radius when none is given: 5 km.
pub const DEFAULT_RADIUS_M: u32 = 5_000;

/// A search radius from kilometres as text (`5`, `0.5`, `12.25`): more than 0 and at most 50,
/// rounded to the metre (a radius under half a metre is one metre).
pub fn radius_m(km: &str) -> Result<u32, ValueError> {
    const RANGE: ValueError = ValueError::Range { min: 0, max: 50 };
    let km: f64 = km.trim().parse().map_err(|_| ValueError::Format {
        expected: "kilometres, such as 5 or 0.5",
    })?;
    if !km.is_finite() || km <= 0.0 || km > f64::from(MAX_RADIUS_M) / 1000.0 {
        return Err(RANGE);
    }
    // Within (0, 50 000]: the cast cannot overflow.
    Ok(((km * 1000.0).round() as u32).clamp(1, MAX_RADIUS_M))
}

/// The radius the search reads first: 2 km. A page is settled as soon as a circle holds more
/// institutions past the cursor than the page takes — nothing outside it can come before them —
/// so in a city the first small box answers; elsewhere the circle doubles up to the radius asked
/// for ([`atlas::Atlas::nearest`]). A page of 50 needs ~2 km even in a city centre.
pub const FIRST_RADIUS_M: u32 = 2_000;

/// The radii a search reads, widening until `radius_m`: from the cursor's distance plus
/// [`FIRST_RADIUS_M`] (at least that), doubling.
pub fn search_radii(radius_m: u32, after: Option<&Ranked>) -> Vec<u32> {
    let from = after.map_or(0, |a| a.distance_m);
    let mut r = from.saturating_add(FIRST_RADIUS_M).min(radius_m);
    let mut out = vec![r];
    while r < radius_m {
        r = r.saturating_mul(2).min(radius_m);
        out.push(r);
    }
    out
}

/// One institution found near a point: its distance and its code, the order of the list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ranked {
    pub distance_m: u32,
    pub code: String,
}

/// The page of a "near me" list over `candidates` (code and position), by brute force: the
/// list's order, which [`atlas::Atlas::nearest`] gives from its index. Those within `radius_m`
/// (rounded distance ≤ radius: an institution on the circle is in) are ordered nearest first,
/// ties by code, and the page holds the first `limit + 1` after `after` (a `(distance_m, code)`
/// of the previous page; one extra tells that another page follows).
pub fn nearest(
    center: GeoPoint,
    radius_m: u32,
    candidates: impl IntoIterator<Item = (String, GeoPoint)>,
    after: Option<&Ranked>,
    limit: usize,
) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = candidates
        .into_iter()
        .map(|(code, p)| Ranked {
            distance_m: center.whole_metres(p),
            code,
        })
        .filter(|r| r.distance_m <= radius_m)
        .filter(|r| after.is_none_or(|a| r > a))
        .collect();
    ranked.sort_unstable();
    ranked.truncate(limit.saturating_add(1));
    ranked
}

// ---------------------------------------------------------------------------------------------
// Whose insurance covers it

/// What coverage needs to know about an institution.
#[derive(Debug, Clone, Copy)]
pub struct InstitutionCoverage<'a> {
    pub region: &'a RegionCode,
    pub categories: &'a [MedicalCategory],
    /// 异地就医直接结算: it settles bills of persons insured elsewhere who filed for its region.
    pub accepts_filed_elsewhere: bool,
}

/// An approved medical filing (异地就医备案): treatment in `region` from `from` to `to`
/// (both included, the person's regional calendar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub region: RegionCode,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What coverage needs to know about the insured person.
#[derive(Debug, Clone, Copy)]
pub struct InsuredCoverage<'a> {
    pub region: &'a RegionCode,
    pub category: MedicalCategory,
    /// Their approved filings (pending or rejected applications are not filings).
    pub filings: &'a [Filing],
    /// Today in the person's region.
    pub today: NaiveDate,
}

/// Why (or why not) an institution is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Designated for the person's scheme, in the person's own region.
    HomeRegion,
    /// Designated for the person's scheme elsewhere, settling filed treatment, and the person
    /// has a filing for that region that runs today.
    FiledElsewhere,
    /// Not designated for the person's scheme (a pharmacy serving employee accounts only, to a
    /// resident-scheme person).
    OtherScheme,
    /// In another region, and either it does not settle filed treatment or the person has no
    /// filing for that region running today.
    OtherRegion,
}

impl Coverage {
    pub fn covered(self) -> bool {
        matches!(self, Coverage::HomeRegion | Coverage::FiledElsewhere)
    }
}

/// Whether the person's medical insurance covers treatment at the institution today:
///
/// 1. the institution must be designated for the person's scheme (`employee` or `resident`),
///    wherever it is;
/// 2. in the person's own region, that is enough;
/// 3. in another region it is covered only if the institution settles treatment filed elsewhere
///    (`accepts_filed_elsewhere`) **and** the person has an approved filing for exactly that
///    region whose period includes today. A filing for another region, an expired or future
///    filing, or an institution that does not take filed patients is not covered (the person
///    would pay and claim back, which the app does not call "covered").
pub fn coverage(institution: &InstitutionCoverage<'_>, person: &InsuredCoverage<'_>) -> Coverage {
    if !institution.categories.contains(&person.category) {
        return Coverage::OtherScheme;
    }
    if institution.region == person.region {
        return Coverage::HomeRegion;
    }
    let filed = person
        .filings
        .iter()
        .any(|f| &f.region == institution.region && f.from <= person.today && person.today <= f.to);
    if institution.accepts_filed_elsewhere && filed {
        Coverage::FiledElsewhere
    } else {
        Coverage::OtherRegion
    }
}

// ---------------------------------------------------------------------------------------------
// Slots and appointments

/// The most places one slot offers.
pub const MAX_CAPACITY: i64 = 500;
/// The longest slot: a day.
pub const MAX_SLOT_HOURS: i64 = 24;

/// Why a slot cannot be published; the field at fault and why.
pub fn check_slot(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    capacity: i64,
    now: DateTime<Utc>,
) -> Result<(), (&'static str, ValueError)> {
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return Err((
            "capacity",
            ValueError::Range {
                min: 1,
                max: MAX_CAPACITY,
            },
        ));
    }
    if starts_at <= now {
        return Err(("starts_at", ValueError::Rule("must be in the future")));
    }
    if ends_at <= starts_at {
        return Err(("ends_at", ValueError::Rule("must be after starts_at")));
    }
    if ends_at - starts_at > Duration::hours(MAX_SLOT_HOURS) {
        return Err((
            "ends_at",
            ValueError::Rule("must be within 24 hours of starts_at"),
        ));
    }
    Ok(())
}

/// An appointment can be made, and cancelled, until its slot starts.
pub fn open_for_change(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < starts_at
}

/// When the reminder of an appointment goes out: at 10:00 on the day before the slot, in the
/// person's region. Booked after that time but still on the day before, it goes at once (in
/// daylight: 08:00–21:00); booked on the slot's own day — or so late on the day before that
/// daylight is over — there is no reminder (`None`): the person has just booked it.
pub fn reminder_at(
    slot_starts: DateTime<Utc>,
    zone: TimeZoneName,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let tz = zone.tz();
    let day_before = slot_starts.with_timezone(&tz).date_naive().pred_opt()?;
    let planned = tz
        .from_local_datetime(&day_before.and_time(REMINDER_TIME))
        .earliest()?
        .with_timezone(&Utc);
    if planned >= now {
        return Some(planned);
    }
    let soonest = crate::reminders::daylight_send_time(now, zone);
    (soonest.with_timezone(&tz).date_naive() == day_before && soonest < slot_starts)
        .then_some(soonest)
}

/// The local time of the day before at which reminders go out.
pub const REMINDER_TIME: NaiveTime = match NaiveTime::from_hms_opt(10, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// The reminder's text (one SMS segment): the institution, the department and the local start.
pub fn reminder_text(
    institution: &str,
    department: &str,
    starts: DateTime<Utc>,
    zone: TimeZoneName,
) -> String {
    let local = starts.with_timezone(&zone.tz());
    let name: String = institution.chars().take(20).collect();
    let department: String = department.chars().take(10).collect();
    format!(
        "【社保】预约提醒：明天{} {}{}，请按时就诊；不能前往请在掌上社保取消。",
        local.format("%H:%M"),
        name,
        department
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn point(lat: &str, lon: &str) -> GeoPoint {
        GeoPoint::parse(lat, lon).unwrap()
    }

    #[test]
    fn institution_codes() {
        assert_eq!(
            InstitutionCode::parse(" H440303001 ").unwrap().as_str(),
            "H440303001"
        );
        assert!(InstitutionCode::parse("P-440_3").is_ok());
        assert!(InstitutionCode::parse(&"A".repeat(32)).is_ok());
        assert_eq!(
            InstitutionCode::parse(&"A".repeat(33)),
            Err(ValueError::TooLong { max: 32 })
        );
        assert_eq!(InstitutionCode::parse(""), Err(ValueError::Empty));
        for bad in ["Ｈ1", "H 1", "H/1", "H.1", "医院"] {
            assert!(
                matches!(InstitutionCode::parse(bad), Err(ValueError::Format { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn degrees_are_read_digit_by_digit() {
        assert_eq!(microdegrees("22.543096"), Ok(22_543_096));
        assert_eq!(microdegrees("114"), Ok(114_000_000));
        assert_eq!(microdegrees("22.54"), Ok(22_540_000));
        assert_eq!(microdegrees("-0.5"), Ok(-500_000));
        // Rounded at the seventh decimal, half away from zero.
        assert_eq!(microdegrees("22.5430965"), Ok(22_543_097));
        assert_eq!(microdegrees("22.5430964999"), Ok(22_543_096));
        assert_eq!(microdegrees("-22.5430965"), Ok(-22_543_097));
        for bad in ["", "abc", "1e5", "22,54", "1234.5", "NaN", "inf", "2 2"] {
            assert!(microdegrees(bad).is_err(), "{bad}");
        }
        // Other spellings of numbers, through a float.
        assert_eq!(microdegrees("2.25e1"), Ok(22_500_000));
        assert_eq!(microdegrees(".5"), Ok(500_000));
    }

    #[test]
    fn positions_outside_china_are_refused_and_name_the_coordinate() {
        assert!(GeoPoint::parse("22.54", "114.06").is_ok());
        assert!(GeoPoint::parse("3", "73").is_ok());
        assert!(GeoPoint::parse("54", "136").is_ok());
        assert_eq!(
            GeoPoint::parse("2.999999", "114").unwrap_err().0,
            "latitude"
        );
        assert_eq!(
            GeoPoint::parse("54.000001", "114").unwrap_err().0,
            "latitude"
        );
        assert_eq!(GeoPoint::parse("22", "72.9").unwrap_err().0, "longitude");
        assert_eq!(GeoPoint::parse("22", "136.1").unwrap_err().0, "longitude");
        // The bounds hold for the value as written, not only once rounded.
        assert_eq!(
            GeoPoint::parse("54.0000001", "114").unwrap_err().0,
            "latitude"
        );
        assert_eq!(
            GeoPoint::parse("22", "72.9999999").unwrap_err().0,
            "longitude"
        );
        // Paris, New York, the southern hemisphere.
        assert!(GeoPoint::parse("48.8566", "2.3522").is_err());
        assert!(GeoPoint::parse("40.7128", "-74.006").is_err());
        assert!(GeoPoint::parse("-22.54", "114.06").is_err());
    }

    #[test]
    fn haversine_against_figures_worked_by_hand() {
        // 0.01° of latitude is π R / 18000 = 1,111.95 m anywhere.
        let a = point("22.54", "114.06");
        assert_eq!(a.whole_metres(point("22.55", "114.06")), 1112);
        // 0.01° of longitude at 22.54° N: 1,111.95 × cos 22.54° = 1,027.0 m.
        assert_eq!(a.whole_metres(point("22.54", "114.07")), 1027);
        // Beijing (Tiananmen) to Shanghai (People's Square): 1,067 km.
        let bj = point("39.9042", "116.4074");
        let sh = point("31.2304", "121.4737");
        assert_eq!(bj.whole_metres(sh), 1_067_312);
        assert_eq!(sh.whole_metres(bj), 1_067_312);
        // Mohe to Sanya, nearly the whole range: 4,430 km.
        let mohe = point("52.9722", "122.5389");
        let sanya = point("18.2528", "109.5119");
        let d = mohe.distance_m(sanya);
        assert!((4_000_000.0..4_100_000.0).contains(&d), "{d}");
        assert_eq!(a.whole_metres(a), 0);
    }

    #[test]
    fn the_bounding_box_holds_the_whole_circle_and_little_more() {
        for (lat, lon) in [("22.54", "114.06"), ("53.5", "122.5"), ("3.5", "112.3")] {
            let c = point(lat, lon);
            for radius in [1, 800, 5_000, 50_000] {
                let b = c.bounding_box(radius);
                // Points on the circle, every 5° of bearing (the destination formula).
                for step in 0..72 {
                    let bearing = f64::from(step * 5).to_radians();
                    let d = f64::from(radius) / EARTH_RADIUS_M * 0.999_999;
                    let (p1, l1) = (c.lat().to_radians(), c.lon().to_radians());
                    let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * bearing.cos()).asin();
                    let l2 = l1
                        + (bearing.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
                    let e6 = |r: f64| (r.to_degrees() * 1e6).round() as i64;
                    let Ok(p) = GeoPoint::from_e6(e6(p2), e6(l2)) else {
                        continue;
                    };
                    assert!(
                        b.contains(p),
                        "{lat},{lon} r={radius} bearing {step}: {p:?} {b:?}"
                    );
                }
                // Not much larger than the circle: its height is 2r plus the margin.
                let height = f64::from(b.max_lat_e6 - b.min_lat_e6) / 1e6 * 111_195.0;
                assert!(height <= 2.0 * f64::from(radius) + 1.0, "{height}");
            }
        }
    }

    #[test]
    fn geo_uris_are_rfc_5870() {
        assert_eq!(point("22.54", "114.06").geo_uri(), "geo:22.54,114.06");
        assert_eq!(
            point("39.904200", "116.407396").geo_uri(),
            "geo:39.9042,116.407396"
        );
        assert_eq!(point("22", "114").geo_uri(), "geo:22,114");
        assert_eq!(decimal_degrees(-500_000), "-0.5");
    }

    #[test]
    fn radius_in_kilometres_to_the_metre() {
        assert_eq!(radius_m("5"), Ok(5_000));
        assert_eq!(radius_m("0.5"), Ok(500));
        assert_eq!(radius_m("12.25"), Ok(12_250));
        assert_eq!(radius_m("50"), Ok(50_000));
        assert_eq!(radius_m("0.001"), Ok(1));
        assert_eq!(radius_m("1.2345"), Ok(1_235));
        assert_eq!(radius_m("0.00001"), Ok(1));
        assert_eq!(radius_m("5e0"), Ok(5_000));
        for out in ["50.001", "50.0000001", "0", "-1", "inf"] {
            assert_eq!(
                radius_m(out),
                Err(ValueError::Range { min: 0, max: 50 }),
                "{out}"
            );
        }
        for bad in ["", "five", "NaN x"] {
            assert!(
                matches!(radius_m(bad), Err(ValueError::Format { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_search_widens_from_two_kilometres_past_the_cursor() {
        assert_eq!(search_radii(5_000, None), [2_000, 4_000, 5_000]);
        assert_eq!(
            search_radii(20_000, None),
            [2_000, 4_000, 8_000, 16_000, 20_000]
        );
        assert_eq!(search_radii(500, None), [500]);
        assert_eq!(search_radii(50_000, None).last(), Some(&50_000));
        let after = Ranked {
            distance_m: 3_500,
            code: "X".into(),
        };
        assert_eq!(search_radii(5_000, Some(&after)), [5_000]);
        let near = Ranked {
            distance_m: 700,
            code: "X".into(),
        };
        assert_eq!(search_radii(5_000, Some(&near)), [2_700, 5_000]);
        let beyond = Ranked {
            distance_m: u32::MAX,
            code: String::new(),
        };
        assert_eq!(search_radii(5_000, Some(&beyond)), [5_000]);
    }

    #[test]
    fn nearest_first_ties_by_code_and_pages_after_the_cursor() {
        let c = point("22.54", "114.06");
        let candidates = vec![
            ("FAR".to_owned(), point("22.59", "114.06")), // 5,560 m: outside 5 km
            ("B".to_owned(), point("22.55", "114.06")),   // 1,112 m
            ("A".to_owned(), point("22.53", "114.06")),   // 1,112 m (south)
            ("NEAR".to_owned(), point("22.5401", "114.06")), // 11 m
            ("EDGE".to_owned(), point("22.584966", "114.06")), // 5,000 m exactly (rounded)
        ];
        let all = nearest(c, 5_000, candidates.clone(), None, 10);
        let codes: Vec<&str> = all.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["NEAR", "A", "B", "EDGE"]);
        assert_eq!(all[0].distance_m, 11);
        assert_eq!(all[1].distance_m, 1112);
        assert_eq!(all[3].distance_m, 5000);
        // Pages of one (plus the one that says more follow), after each cursor in turn.
        let first = nearest(c, 5_000, candidates.clone(), None, 1);
        assert_eq!(first.len(), 2);
        let second = nearest(c, 5_000, candidates.clone(), Some(&first[0]), 1);
        assert_eq!(second[0].code, "A");
        let third = nearest(c, 5_000, candidates.clone(), Some(&second[0]), 1);
        assert_eq!(third[0].code, "B");
        let last = nearest(c, 5_000, candidates, Some(&all[3]), 1);
        assert!(last.is_empty());
    }

    #[test]
    fn a_filter_admits_what_matches_every_part_given() {
        let any = NearFilter::default();
        let depts = vec!["内科".to_owned(), "儿科".to_owned()];
        assert!(any.admits(InstitutionKind::Pharmacy, None, &[]));
        let grade3_hospital = NearFilter {
            kind: Some(InstitutionKind::Hospital),
            level: Some(Level::new(3).unwrap()),
            department: Some(Department::parse("儿科").unwrap()),
        };
        let three = Some(Level::new(3).unwrap());
        assert!(grade3_hospital.admits(InstitutionKind::Hospital, three, &depts));
        assert!(!grade3_hospital.admits(InstitutionKind::Clinic, three, &depts));
        assert!(!grade3_hospital.admits(InstitutionKind::Hospital, None, &depts));
        assert!(!grade3_hospital.admits(
            InstitutionKind::Hospital,
            Some(Level::new(2).unwrap()),
            &depts
        ));
        // The department by its exact name: 儿 is not 儿科.
        assert!(!grade3_hospital.admits(
            InstitutionKind::Hospital,
            three,
            &["内科".to_owned(), "儿".to_owned()]
        ));
    }

    fn region(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn coverage_by_scheme_region_and_filing() {
        use MedicalCategory::{Employee, Resident};
        let (sz, bj, gz) = (region("440300"), region("110000"), region("440100"));
        let today = day(2026, 11, 23);
        let filing = |region: &RegionCode, from, to| Filing {
            region: region.clone(),
            from,
            to,
        };
        // A person of Shenzhen, of `category`, with `filings`, at an institution of `at`.
        let check = |at: &RegionCode,
                     categories: &[MedicalCategory],
                     accepts_filed_elsewhere: bool,
                     category: MedicalCategory,
                     filings: &[Filing]| {
            coverage(
                &InstitutionCoverage {
                    region: at,
                    categories,
                    accepts_filed_elsewhere,
                },
                &InsuredCoverage {
                    region: &sz,
                    category,
                    filings,
                    today,
                },
            )
        };
        let (both, employee_only) = ([Employee, Resident], [Employee]);
        // At home: the scheme decides.
        assert_eq!(
            check(&sz, &employee_only, false, Employee, &[]),
            Coverage::HomeRegion
        );
        assert_eq!(
            check(&sz, &employee_only, false, Resident, &[]),
            Coverage::OtherScheme
        );
        assert_eq!(
            check(&sz, &both, false, Resident, &[]),
            Coverage::HomeRegion
        );
        // Elsewhere without a filing: not covered, even where filed patients are taken.
        assert_eq!(
            check(&bj, &both, true, Employee, &[]),
            Coverage::OtherRegion
        );
        // With a filing for Beijing running today: covered where filed patients are taken.
        let running = [filing(&bj, day(2026, 11, 1), day(2027, 4, 30))];
        assert_eq!(
            check(&bj, &both, true, Employee, &running),
            Coverage::FiledElsewhere
        );
        assert!(check(&bj, &both, true, Resident, &running).covered());
        assert_eq!(
            check(&bj, &both, false, Employee, &running),
            Coverage::OtherRegion
        );
        // The filing's days are inclusive at both ends; before or after them it does not count.
        for (from, to, covered) in [
            (day(2026, 11, 23), day(2026, 11, 23), true),
            (day(2026, 11, 24), day(2026, 12, 31), false),
            (day(2026, 1, 1), day(2026, 11, 22), false),
        ] {
            let f = [filing(&bj, from, to)];
            assert_eq!(
                check(&bj, &both, true, Employee, &f).covered(),
                covered,
                "{from}..{to}"
            );
        }
        // A filing for Guangzhou does not cover Beijing.
        let elsewhere = [filing(&gz, day(2026, 1, 1), day(2027, 1, 1))];
        assert!(!check(&bj, &both, true, Employee, &elsewhere).covered());
        // A filing never lifts the scheme rule.
        assert_eq!(
            check(&bj, &employee_only, true, Resident, &running),
            Coverage::OtherScheme
        );
    }

    #[test]
    fn slots_have_places_and_a_future_start() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        let start = now + Duration::days(1);
        let end = start + Duration::minutes(30);
        assert_eq!(check_slot(start, end, 10, now), Ok(()));
        assert_eq!(check_slot(start, end, 500, now), Ok(()));
        assert_eq!(check_slot(start, end, 0, now).unwrap_err().0, "capacity");
        assert_eq!(check_slot(start, end, 501, now).unwrap_err().0, "capacity");
        assert_eq!(check_slot(now, end, 1, now).unwrap_err().0, "starts_at");
        assert_eq!(check_slot(start, start, 1, now).unwrap_err().0, "ends_at");
        assert_eq!(
            check_slot(start, start + Duration::hours(25), 1, now)
                .unwrap_err()
                .0,
            "ends_at"
        );
        assert!(open_for_change(start, now));
        assert!(!open_for_change(start, start));
    }

    #[test]
    fn the_reminder_goes_at_ten_the_day_before_or_not_at_all() {
        let zone = TimeZoneName::ASIA_SHANGHAI;
        let utc = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        // The slot: 26 November 09:00 in Beijing = 01:00 UTC. The reminder: 25th 10:00 = 02:00 UTC.
        let slot = utc(26, 1, 0);
        assert_eq!(reminder_at(slot, zone, utc(23, 8, 0)), Some(utc(25, 2, 0)));
        assert_eq!(reminder_at(slot, zone, utc(25, 2, 0)), Some(utc(25, 2, 0)));
        // Booked on the 25th at 15:00 Beijing: at once.
        assert_eq!(reminder_at(slot, zone, utc(25, 7, 0)), Some(utc(25, 7, 0)));
        // Booked on the 25th at 22:00 Beijing: daylight would be the slot's own morning: none.
        assert_eq!(reminder_at(slot, zone, utc(25, 14, 0)), None);
        // Booked on the 26th at 07:00 Beijing, before the 09:00 slot: none.
        assert_eq!(reminder_at(slot, zone, utc(25, 23, 0)), None);
        // A slot just after midnight Beijing: its day before is the calendar day before.
        let early = utc(25, 16, 30); // 26th 00:30 Beijing
        assert_eq!(reminder_at(early, zone, utc(23, 8, 0)), Some(utc(25, 2, 0)));
    }

    #[test]
    fn the_reminder_is_one_sms_segment() {
        let t = reminder_text(
            "香港大学深圳医院（深圳市滨海医院）国际医疗中心",
            "耳鼻咽喉头颈外科门诊",
            Utc.with_ymd_and_hms(2026, 11, 26, 1, 30, 0).unwrap(),
            TimeZoneName::ASIA_SHANGHAI,
        );
        assert!(t.contains("09:30"), "{t}");
        assert!(
            t.chars().count() <= crate::reminders::ONE_SEGMENT,
            "{} {t}",
            t.chars().count()
        );
    }

    #[test]
    fn codes_departments_phones_and_levels() {
        assert!(InstitutionCode::parse("H44030300001").is_ok());
        assert!(InstitutionCode::parse("h-1_2").is_ok());
        assert!(InstitutionCode::parse("H 1").is_err());
        assert!(InstitutionCode::parse("医院").is_err());
        assert!(InstitutionCode::parse(&"A".repeat(33)).is_err());
        assert!(Department::parse("内科").is_ok());
        assert!(Department::parse("内科|外科").is_err());
        assert!(Department::parse("  ").is_err());
        assert!(InstitutionPhone::parse("0755-83923333").is_ok());
        assert!(InstitutionPhone::parse("+86 (10) 6915 6114").is_ok());
        assert!(InstitutionPhone::parse("call us").is_err());
        assert!(InstitutionPhone::parse("1234").is_err());
        assert_eq!(Level::parse("3").map(Level::get), Ok(3));
        assert!(Level::parse("4").is_err());
        assert!(Level::parse("0").is_err());
        assert_eq!(
            medical_categories(&[MedicalCategory::Resident, MedicalCategory::Employee]),
            Ok(vec![MedicalCategory::Employee, MedicalCategory::Resident])
        );
        assert!(medical_categories(&[]).is_err());
        assert!(
            medical_categories(&[MedicalCategory::Employee, MedicalCategory::Employee]).is_err()
        );
        let d = |s| Department::parse(s).unwrap();
        assert!(departments(vec![d("内科"), d("外科")]).is_ok());
        assert!(departments(vec![d("内科"), d("内科")]).is_err());
        for kind in InstitutionKind::ALL {
            assert_eq!(InstitutionKind::parse(kind.as_str()), Ok(kind));
        }
    }
}
