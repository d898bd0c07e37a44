//! Applications (业务办理): the kinds a person can apply for, the statuses an application moves
//! through and who may move it, the documents it may carry, and the rules that decide the kinds
//! (eligibility and what approval fixes).
//!
//! ```text
//! submitted ──► in_review ──► approved | rejected
//!                   │   ▲
//!                   ▼   │
//!          needs_more_info ──► resubmitted
//! (any open status) ──► withdrawn   (by the person)
//! ```

use chrono::{Datelike, NaiveDate};

use crate::benefits::{unemployment_entitlement, unemployment_months};
use crate::money::Fen;
use crate::period::Period;
use crate::ValueError;

/// What a person applies for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApplicationKind {
    UnemploymentBenefit,
    Retirement,
    Transfer,
    MedicalFiling,
    Qualification,
    SocialAssistance,
}

impl ApplicationKind {
    pub const ALL: [ApplicationKind; 6] = [
        ApplicationKind::UnemploymentBenefit,
        ApplicationKind::Retirement,
        ApplicationKind::Transfer,
        ApplicationKind::MedicalFiling,
        ApplicationKind::Qualification,
        ApplicationKind::SocialAssistance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationKind::UnemploymentBenefit => "unemployment_benefit",
            ApplicationKind::Retirement => "retirement",
            ApplicationKind::Transfer => "transfer",
            ApplicationKind::MedicalFiling => "medical_filing",
            ApplicationKind::Qualification => "qualification",
            ApplicationKind::SocialAssistance => "social_assistance",
        }
    }

    pub fn parse(s: &str) -> Result<ApplicationKind, ValueError> {
        ApplicationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "unemployment_benefit, retirement, transfer, medical_filing, qualification, social_assistance",
            })
    }

    /// Kinds that move money or identity need a fresh step-up to apply.
    pub fn needs_step_up(self) -> bool {
        matches!(
            self,
            ApplicationKind::Retirement
                | ApplicationKind::Transfer
                | ApplicationKind::Qualification
        )
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    Submitted,
    InReview,
    NeedsMoreInfo,
    Resubmitted,
    Approved,
    Rejected,
    Withdrawn,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 7] = [
        ApplicationStatus::Submitted,
        ApplicationStatus::InReview,
        ApplicationStatus::NeedsMoreInfo,
        ApplicationStatus::Resubmitted,
        ApplicationStatus::Approved,
        ApplicationStatus::Rejected,
        ApplicationStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::InReview => "in_review",
            ApplicationStatus::NeedsMoreInfo => "needs_more_info",
            ApplicationStatus::Resubmitted => "resubmitted",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Result<ApplicationStatus, ValueError> {
        ApplicationStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or(ValueError::OneOf {
                allowed: "submitted, in_review, needs_more_info, resubmitted, approved, rejected, withdrawn",
            })
    }

    /// Not decided and not withdrawn: counts as the person's open application of its kind.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            ApplicationStatus::Approved
                | ApplicationStatus::Rejected
                | ApplicationStatus::Withdrawn
        )
    }
}

/// Who moves an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    /// The applicant (withdraw, resubmit).
    Person,
    /// A caseworker or an admin (review, decide, ask for more).
    Staff,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not an edge of the state machine for this mover.
    #[error("cannot go from {from} to {to}", from = .from.as_str(), to = .to.as_str())]
    Invalid {
        from: ApplicationStatus,
        to: ApplicationStatus,
    },
    /// A rejection must say why, in words the person can act on.
    #[error("a rejection needs a reason")]
    ReasonRequired,
    /// Asking for more information must say what is missing.
    #[error("needs_more_info must list what is missing")]
    MissingRequired,
}

/// Checks one move of the state machine. `note` is the mover's note; `missing` what a
/// `needs_more_info` asks for.
pub fn transition(
    from: ApplicationStatus,
    to: ApplicationStatus,
    mover: Mover,
    note: Option<&str>,
    missing: &[String],
) -> Result<(), TransitionError> {
    use ApplicationStatus as S;
    let allowed = match mover {
        Mover::Staff => matches!(
            (from, to),
            (S::Submitted, S::InReview)
                | (S::Resubmitted, S::InReview)
                | (S::InReview, S::Approved)
                | (S::InReview, S::Rejected)
                | (S::InReview, S::NeedsMoreInfo)
        ),
        Mover::Person => {
            matches!((from, to), (S::NeedsMoreInfo, S::Resubmitted))
                || (to == S::Withdrawn && from.is_open())
        }
    };
    if !allowed {
        return Err(TransitionError::Invalid { from, to });
    }
    if to == S::Rejected && note.is_none_or(|n| n.trim().is_empty()) {
        return Err(TransitionError::ReasonRequired);
    }
    if to == S::NeedsMoreInfo && missing.iter().all(|m| m.trim().is_empty()) {
        return Err(TransitionError::MissingRequired);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Documents

/// The largest document an application takes.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;

/// What a document is, by its content (never by what the client says it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    Png,
    Jpeg,
    Pdf,
}

impl DocumentType {
    /// Sniffs the magic bytes: PNG, JPEG or PDF; anything else is `None`.
    pub fn sniff(bytes: &[u8]) -> Option<DocumentType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(DocumentType::Png)
        } else if bytes.len() > 3 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(DocumentType::Jpeg)
        } else if bytes.starts_with(b"%PDF-") {
            Some(DocumentType::Pdf)
        } else {
            None
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            DocumentType::Png => "image/png",
            DocumentType::Jpeg => "image/jpeg",
            DocumentType::Pdf => "application/pdf",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unemployment benefit (失业保险金)

/// Why the job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeparationReason {
    ContractEnded,
    Dismissed,
    EmployerClosed,
    Resigned,
}

impl SeparationReason {
    pub fn parse(s: &str) -> Result<SeparationReason, ValueError> {
        match s.trim() {
            "contract_ended" => Ok(SeparationReason::ContractEnded),
            "dismissed" => Ok(SeparationReason::Dismissed),
            "employer_closed" => Ok(SeparationReason::EmployerClosed),
            "resigned" => Ok(SeparationReason::Resigned),
            _ => Err(ValueError::OneOf {
                allowed: "contract_ended, dismissed, employer_closed, resigned",
            }),
        }
    }

    /// Only an involuntary loss of work (失业保险条例 art. 14 (2)) entitles to benefit.
    pub fn involuntary(self) -> bool {
        self != SeparationReason::Resigned
    }
}

/// Why an application cannot be granted, as data: the API puts it in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Left the job of their own will.
    Resigned,
    /// Fewer than 12 months of unemployment insurance: `have`, `need`.
    TooFewUnemploymentMonths { have: u32, need: u32 },
    /// The entitlement is used up.
    EntitlementUsed,
    /// Too young: the earliest date retirement is allowed.
    TooEarly { earliest: NaiveDate },
    /// Fewer contribution months than the minimum for the retirement year.
    TooFewPensionMonths { have: u32, need: u32 },
    /// Already in that region.
    SameRegion,
    /// The region runs no social-assistance programme (no thresholds).
    NoProgramme,
    /// Only a pensioner has a yearly qualification check.
    NotPensioner,
    /// The relative the pensioner named has not confirmed yet.
    AwaitingRelative,
    /// The household receives this programme already.
    AlreadyReceiving { programme: &'static str },
    /// The criteria of the programme that the household does not meet.
    CriteriaNotMet {
        programme: &'static str,
        failed: Vec<&'static str>,
    },
}

impl Refusal {
    /// The refusal in Chinese and English.
    pub fn text(&self) -> (String, String) {
        match self {
            Refusal::Resigned => (
                "因本人意愿中断就业（辞职）的，不能领取失业保险金。".into(),
                "Unemployment benefit is not paid after resigning: only an involuntary loss of work counts.".into(),
            ),
            Refusal::TooFewUnemploymentMonths { have, need } => (
                format!("失业保险缴费满 {need} 个月方可领取，目前 {have} 个月，还差 {} 个月。", need - have),
                format!("{need} months of unemployment insurance are needed; you have {have}, {} short.", need - have),
            ),
            Refusal::EntitlementUsed => (
                "失业保险金领取期限已用完。".into(),
                "The months of unemployment benefit are used up.".into(),
            ),
            Refusal::TooEarly { earliest } => (
                format!("最早可于 {earliest} 申请退休。"),
                format!("Retirement is allowed from {earliest} at the earliest."),
            ),
            Refusal::TooFewPensionMonths { have, need } => (
                format!("按月领取养老金需缴费满 {need} 个月，目前 {have} 个月，还差 {} 个月。", need - have),
                format!("{need} months of contributions are needed for a monthly pension; you have {have}, {} short.", need - have),
            ),
            Refusal::SameRegion => (
                "社保关系已在该地区。".into(),
                "Your records are in that region already.".into(),
            ),
            Refusal::NotPensioner => (
                "资格认证仅适用于领取养老金的人员。".into(),
                "The qualification check is for people drawing a pension.".into(),
            ),
            Refusal::AwaitingRelative => (
                "授权的亲属尚未确认。".into(),
                "The relative you named has not confirmed yet.".into(),
            ),
            Refusal::NoProgramme => (
                "所在地区未开展社会救助项目。".into(),
                "Your region runs no social-assistance programme.".into(),
            ),
            Refusal::AlreadyReceiving { programme } => (
                format!("您已在享受 {programme}，不重复发放。"),
                format!("You receive {programme} already; it is not paid twice."),
            ),
            Refusal::CriteriaNotMet { programme, failed } => (
                format!("不符合 {programme} 的条件：{}。详见 POST /v1/me/assistance/eligibility。", failed.join("、")),
                format!("Not eligible for {programme}: {} not met; see POST /v1/me/assistance/eligibility.", failed.join(", ")),
            ),
        }
    }
}

/// What approving an unemployment-benefit application fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnemploymentAward {
    pub months: u32,
    pub monthly_amount: Fen,
    /// The first month paid: the month after the last day of work.
    pub starts: Period,
}

/// The months of unemployment insurance needed (失业保险条例 art. 14 (1)).
pub const UNEMPLOYMENT_MIN_MONTHS: u32 = 12;

/// Decides an unemployment-benefit claim from the records: the months paid into unemployment
/// insurance and the months of benefit already drawn, the reason the job ended, the last day of
/// work and the region's monthly rate.
pub fn unemployment_award(
    reason: SeparationReason,
    paid_months: &[Period],
    drawn_months: &[Period],
    last_day: NaiveDate,
    monthly_rate: Fen,
) -> Result<UnemploymentAward, Refusal> {
    if !reason.involuntary() {
        return Err(Refusal::Resigned);
    }
    let e = unemployment_entitlement(paid_months, drawn_months);
    let carried = e
        .months_granted
        .saturating_sub(unemployment_months(e.contribution_months));
    if e.contribution_months < UNEMPLOYMENT_MIN_MONTHS && carried == 0 {
        return Err(Refusal::TooFewUnemploymentMonths {
            have: e.contribution_months,
            need: UNEMPLOYMENT_MIN_MONTHS,
        });
    }
    if e.months_left == 0 {
        return Err(Refusal::EntitlementUsed);
    }
    let last =
        Period::new(last_day.year(), last_day.month()).map_err(|_| Refusal::EntitlementUsed)?;
    Ok(UnemploymentAward {
        months: e.months_left,
        monthly_amount: monthly_rate,
        starts: last.next(),
    })
}

// ---------------------------------------------------------------------------------------------
// The yearly qualification check (养老待遇资格认证)

/// How long a check holds.
pub const QUALIFICATION_MONTHS: u32 = 12;

/// Where a pensioner's check stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qualification {
    /// The last day the current check holds; after it the pension is suspended.
    pub confirm_by: NaiveDate,
    pub suspended: bool,
}

/// From the last approved check (or, before the first, the day the pension was granted):
/// the pension is suspended from the day after 12 months have passed, until the next check.
pub fn qualification(since: NaiveDate, today: NaiveDate) -> Qualification {
    let confirm_by = since
        .checked_add_months(chrono::Months::new(QUALIFICATION_MONTHS))
        .unwrap_or(NaiveDate::MAX);
    Qualification {
        confirm_by,
        suspended: today > confirm_by,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ApplicationStatus as S;

    #[test]
    fn a_check_holds_twelve_months_to_the_day() {
        let since = day(2026, 11, 23);
        let q = qualification(since, day(2027, 11, 23));
        assert_eq!(q.confirm_by, day(2027, 11, 23));
        assert!(!q.suspended);
        assert!(qualification(since, day(2027, 11, 24)).suspended);
        // From the end of a month: the end of the same month a year on.
        assert_eq!(
            qualification(day(2024, 2, 29), day(2024, 3, 1)).confirm_by,
            day(2025, 2, 28)
        );
    }

    #[test]
    fn staff_moves_along_the_machine_and_nowhere_else() {
        let ok = [
            (S::Submitted, S::InReview),
            (S::Resubmitted, S::InReview),
            (S::InReview, S::Approved),
            (S::InReview, S::NeedsMoreInfo),
        ];
        for from in S::ALL {
            for to in S::ALL {
                let r = transition(from, to, Mover::Staff, Some("ok"), &["x".into()]);
                let expected = ok.contains(&(from, to)) || (from, to) == (S::InReview, S::Rejected);
                assert_eq!(r.is_ok(), expected, "{from:?} → {to:?}");
            }
        }
    }

    #[test]
    fn the_person_withdraws_while_open_and_resubmits_after_more_info() {
        for from in S::ALL {
            assert_eq!(
                transition(from, S::Withdrawn, Mover::Person, None, &[]).is_ok(),
                from.is_open(),
                "{from:?}"
            );
            for to in S::ALL {
                if to != S::Withdrawn {
                    assert_eq!(
                        transition(from, to, Mover::Person, None, &[]).is_ok(),
                        (from, to) == (S::NeedsMoreInfo, S::Resubmitted),
                        "{from:?} → {to:?}"
                    );
                }
            }
        }
        // Staff never withdraw; the person never decides.
        assert!(transition(S::Submitted, S::Withdrawn, Mover::Staff, None, &[]).is_err());
        assert!(transition(S::InReview, S::Approved, Mover::Person, None, &[]).is_err());
    }

    #[test]
    fn a_rejection_needs_a_reason_and_more_info_needs_a_list() {
        assert_eq!(
            transition(S::InReview, S::Rejected, Mover::Staff, None, &[]),
            Err(TransitionError::ReasonRequired)
        );
        assert_eq!(
            transition(S::InReview, S::Rejected, Mover::Staff, Some("  "), &[]),
            Err(TransitionError::ReasonRequired)
        );
        assert_eq!(
            transition(S::InReview, S::NeedsMoreInfo, Mover::Staff, Some("n"), &[]),
            Err(TransitionError::MissingRequired)
        );
    }

    #[test]
    fn documents_are_known_by_their_first_bytes() {
        assert_eq!(
            DocumentType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(DocumentType::Png)
        );
        assert_eq!(
            DocumentType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(DocumentType::Jpeg)
        );
        assert_eq!(DocumentType::sniff(b"%PDF-1.7\n"), Some(DocumentType::Pdf));
        assert_eq!(DocumentType::sniff(b"GIF89a"), None);
        assert_eq!(DocumentType::sniff(b"<html>"), None);
        assert_eq!(DocumentType::sniff(&[0xFF, 0xD8, 0xFF]), None);
    }

    fn months(from: (i32, u32), n: usize) -> Vec<Period> {
        let mut p = Period::new(from.0, from.1).unwrap();
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(p);
            p = p.next();
        }
        out
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn unemployment_entitlement_by_months_at_each_edge() {
        let rate = Fen(208_600);
        let award = |n| {
            unemployment_award(
                SeparationReason::ContractEnded,
                &months((2014, 1), n),
                &[],
                day(2026, 10, 31),
                rate,
            )
        };
        assert_eq!(
            award(11),
            Err(Refusal::TooFewUnemploymentMonths { have: 11, need: 12 })
        );
        assert_eq!(award(12).unwrap().months, 12);
        assert_eq!(award(59).unwrap().months, 12);
        assert_eq!(award(60).unwrap().months, 18);
        assert_eq!(award(119).unwrap().months, 18);
        assert_eq!(award(120).unwrap().months, 24);
        let a = award(150).unwrap();
        assert_eq!(a.monthly_amount, rate);
        assert_eq!(a.starts, Period::new(2026, 11).unwrap());
        // December's last day starts benefit in January.
        let a = unemployment_award(
            SeparationReason::Dismissed,
            &months((2014, 1), 30),
            &[],
            day(2026, 12, 31),
            rate,
        )
        .unwrap();
        assert_eq!(a.starts, Period::new(2027, 1).unwrap());
    }

    #[test]
    fn resigning_is_refused_whatever_the_months() {
        assert_eq!(
            unemployment_award(
                SeparationReason::Resigned,
                &months((2014, 1), 150),
                &[],
                day(2026, 10, 31),
                Fen(1)
            ),
            Err(Refusal::Resigned)
        );
    }

    #[test]
    fn months_already_drawn_are_not_granted_again() {
        // 30 months paid (12 granted), 5 drawn: 7 left.
        let paid = months((2020, 1), 30);
        let drawn = months((2022, 7), 5);
        let a = unemployment_award(
            SeparationReason::EmployerClosed,
            &paid,
            &drawn,
            day(2022, 12, 1),
            Fen(100),
        )
        .unwrap();
        assert_eq!(a.months, 7);
        let all = months((2022, 7), 12);
        assert_eq!(
            unemployment_award(
                SeparationReason::EmployerClosed,
                &paid,
                &all,
                day(2023, 7, 1),
                Fen(100)
            ),
            Err(Refusal::EntitlementUsed)
        );
    }
}
