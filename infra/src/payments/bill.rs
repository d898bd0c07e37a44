//! Reading the gateway's trade bill: CSV in the real bill's layout. A header row, one row per
//! payment or refund with every value prefixed by a backquote and amounts in yuan, then the
//! summary's header (`总交易单数,…`) and its one row.

use chrono::{NaiveDate, NaiveDateTime};
use shebao_domain::money::Fen;
use shebao_domain::payments::{
    OutRefundNo, OutTradeNo, RefundStatus, TradeBill, TradeBillRow, TradeBillSummary, TradeState,
};

/// Why a bill could not be read.
pub(crate) type BillError = String;

/// The columns this reader needs, by the bill's names.
struct Columns {
    trade_time: usize,
    transaction_id: usize,
    out_trade_no: usize,
    trade_state: usize,
    total: usize,
    refund_id: usize,
    out_refund_no: usize,
    refund: usize,
    refund_status: usize,
}

impl Columns {
    fn of(header: &csv::StringRecord) -> Result<Columns, BillError> {
        let find = |name: &str| {
            header
                .iter()
                .position(|h| clean(h) == name)
                .ok_or_else(|| format!("the bill has no column {name}"))
        };
        Ok(Columns {
            trade_time: find("交易时间")?,
            transaction_id: find("微信订单号")?,
            out_trade_no: find("商户订单号")?,
            trade_state: find("交易状态")?,
            total: find("应结订单金额")?,
            refund_id: find("微信退款单号")?,
            out_refund_no: find("商户退款单号")?,
            refund: find("退款金额")?,
            refund_status: find("退款状态")?,
        })
    }
}

/// A value without its backquote and surrounding blanks (and a UTF-8 byte-order mark).
fn clean(field: &str) -> &str {
    let field = field.trim().trim_start_matches('\u{feff}');
    field.strip_prefix('`').unwrap_or(field).trim()
}

/// `"1234.50"` → 123,450 fen; exact decimal parsing, no floats. One or two decimals, or none.
pub(crate) fn parse_yuan(text: &str) -> Option<Fen> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse::<i64>().ok()?,
    };
    let fen = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)?;
    Some(Fen(if negative { -fen } else { fen }))
}

fn optional(field: &str) -> Option<&str> {
    Some(field).filter(|f| !f.is_empty() && *f != "0")
}

pub(crate) fn parse_bill(date: NaiveDate, file: &[u8]) -> Result<TradeBill, BillError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut records = reader.records();
    let header = records
        .next()
        .ok_or("the bill is empty")?
        .map_err(|e| format!("the bill is not CSV: {e}"))?;
    let columns = Columns::of(&header)?;
    let mut rows = Vec::new();
    let mut summary = None;
    while let Some(record) = records.next() {
        let record = record.map_err(|e| format!("the bill is not CSV: {e}"))?;
        let field = |i: usize| record.get(i).map(clean).unwrap_or("");
        if field(0) == "总交易单数" {
            let values = records
                .next()
                .ok_or("the bill's summary has no values")?
                .map_err(|e| format!("the bill is not CSV: {e}"))?;
            summary = Some(parse_summary(&record, &values)?);
            break;
        }
        let line = rows.len() + 2;
        let bad = |what: &str| format!("line {line} of the bill: bad {what}");
        let amount = |i: usize, what: &str| parse_yuan(field(i)).ok_or_else(|| bad(what));
        rows.push(TradeBillRow {
            trade_time: NaiveDateTime::parse_from_str(
                field(columns.trade_time),
                "%Y-%m-%d %H:%M:%S",
            )
            .map_err(|_| bad("交易时间"))?,
            transaction_id: field(columns.transaction_id).to_owned(),
            out_trade_no: OutTradeNo::parse(field(columns.out_trade_no))
                .map_err(|_| bad("商户订单号"))?,
            trade_state: TradeState::parse(field(columns.trade_state))
                .map_err(|_| bad("交易状态"))?,
            total: amount(columns.total, "应结订单金额")?,
            refund_id: optional(field(columns.refund_id)).map(str::to_owned),
            out_refund_no: optional(field(columns.out_refund_no))
                .map(OutRefundNo::parse)
                .transpose()
                .map_err(|_| bad("商户退款单号"))?,
            refund: amount(columns.refund, "退款金额")?,
            refund_status: optional(field(columns.refund_status))
                .map(RefundStatus::parse)
                .transpose()
                .map_err(|_| bad("退款状态"))?,
        });
    }
    let summary = summary.ok_or("the bill has no summary")?;
    TradeBill::new(date, rows, summary).map_err(|e| e.to_string())
}

fn parse_summary(
    header: &csv::StringRecord,
    values: &csv::StringRecord,
) -> Result<TradeBillSummary, BillError> {
    let value = |name: &str| {
        header
            .iter()
            .position(|h| clean(h) == name)
            .and_then(|i| values.get(i))
            .map(clean)
            .ok_or_else(|| format!("the bill's summary has no {name}"))
    };
    Ok(TradeBillSummary {
        count: value("总交易单数")?
            .parse()
            .map_err(|_| "the bill's summary has a bad 总交易单数")?,
        total: parse_yuan(value("应结订单总金额")?)
            .ok_or("the bill's summary has a bad 应结订单总金额")?,
        refunds: parse_yuan(value("退款总金额")?)
            .ok_or("the bill's summary has a bad 退款总金额")?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn yuan_to_fen_exactly() {
        assert_eq!(parse_yuan("1234.50"), Some(Fen(123_450)));
        assert_eq!(parse_yuan("0.01"), Some(Fen(1)));
        assert_eq!(parse_yuan("0.1"), Some(Fen(10)));
        assert_eq!(parse_yuan("12"), Some(Fen(1_200)));
        assert_eq!(parse_yuan("-3.05"), Some(Fen(-305)));
        for bad in [
            "",
            ".5",
            "1.234",
            "1,00",
            "abc",
            "1.-1",
            "99999999999999999999",
        ] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
    }

    const BILL: &str = "\u{feff}交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
`2026-12-02 09:00:01,`wx1,`1900000001,`0,`,`4200001,`ORDER-A1,`o1,`APP,`SUCCESS,`CMB_DEBIT,`CNY,`560.00,`0.00,`0,`0,`0.00,`0.00,`,`,`养老保险,`,`0.00,`0.00%,`560.00,`0.00,`
`2026-12-02 10:30:00,`wx1,`1900000001,`0,`,`4200002,`ORDER-B2,`o2,`APP,`SUCCESS,`CMB_DEBIT,`CNY,`1234.56,`0.00,`0,`0,`0.00,`0.00,`,`,\"医疗,保险\",`,`0.00,`0.00%,`1234.56,`0.00,`
`2026-12-02 11:00:00,`wx1,`1900000001,`0,`,`4200002,`ORDER-B2,`o2,`APP,`REFUND,`CMB_DEBIT,`CNY,`0.00,`0.00,`5000001,`R-B2-1,`100.00,`0.00,`ORIGINAL,`SUCCESS,`医疗,`,`0.00,`0.00%,`0.00,`100.00,`
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
`3,`1794.56,`100.00,`0.00,`0.00,`1794.56,`100.00
";

    #[test]
    fn reads_the_real_layout() {
        let date = "2026-12-02".parse().unwrap();
        let bill = parse_bill(date, BILL.as_bytes()).unwrap();
        assert_eq!(bill.rows.len(), 3);
        let a = &bill.rows[0];
        assert_eq!(a.out_trade_no.as_str(), "ORDER-A1");
        assert_eq!(a.transaction_id, "4200001");
        assert_eq!(a.trade_state, TradeState::Success);
        assert_eq!(a.total, Fen(56_000));
        assert_eq!(a.refund_id, None);
        assert_eq!(a.trade_time.to_string(), "2026-12-02 09:00:01");
        let refund = &bill.rows[2];
        assert_eq!(refund.trade_state, TradeState::Refund);
        assert_eq!(refund.refund, Fen(10_000));
        assert_eq!(refund.out_refund_no.as_ref().unwrap().as_str(), "R-B2-1");
        assert_eq!(refund.refund_status, Some(RefundStatus::Success));
        assert_eq!(bill.summary.count, 3);
        assert_eq!(bill.summary.total, Fen(179_456));
        assert_eq!(bill.summary.refunds, Fen(10_000));
    }

    #[test]
    fn a_damaged_bill_is_refused() {
        let date = "2026-12-02".parse().unwrap();
        // The summary claims more than the lines add up to.
        let wrong = BILL.replace("`3,`1794.56", "`3,`1794.57");
        assert!(parse_bill(date, wrong.as_bytes()).is_err());
        // No summary at all.
        let cut: String = BILL.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(parse_bill(date, cut.as_bytes()).is_err());
        assert!(parse_bill(date, b"").is_err());
        let bad_amount = BILL.replace("`560.00,`0.00,`0,", "`5x0.00,`0.00,`0,");
        assert!(parse_bill(date, bad_amount.as_bytes()).is_err());
    }
}
