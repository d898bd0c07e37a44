//! Shebao's printable documents. One for now: the contribution certificate (参保证明), an A4 PDF
//! whose Chinese text is set in the Noto Sans CJK SC subset shipped in `assets/fonts/` (OFL; GB
//! 2312's hanzi, ASCII, CJK punctuation and full-width forms, 1.5 MB) and embedded again
//! subsetted to the glyphs the certificate uses (krilla does it), so no system font is needed
//! and a certificate weighs tens of kilobytes. The QR code of the verification URL is drawn as
//! vector squares.
//!
//! What the certificate says comes from `shebao_domain::certificates`; this crate only lays it
//! out. Every table row is written left to right on one baseline, so `pdftotext -layout` (and
//! any text extractor) gives a month and its statuses on one line.
#![forbid(unsafe_code)]

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::{Data, Document};
use qrcodegen::{QrCode, QrCodeEcc};
use shebao_domain::certificates::{
    cell_word_zh, insurance_word_zh, yuan, CertificateContent, CertificateKind, Standing,
};
use shebao_domain::insurance::InsuranceType;

/// The font: Noto Sans CJK SC Regular, reduced to GB 2312 + ASCII + CJK punctuation
/// (`assets/fonts/README.md` says how).
static FONT: &[u8] = include_bytes!("../assets/fonts/NotoSansSC-Regular-GB2312.otf");

/// Why a PDF could not be made (never the input's fault: a bug or a resource limit).
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font could not be read")]
    Font,
    #[error("the QR code's text is too long: {0}")]
    Qr(String),
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Everything printed on a certificate besides its content: who it is for (masked), its id,
/// its times already in the reader's zone, and the URLs.
#[derive(Debug, Clone)]
pub struct CertificateSheet<'a> {
    pub id: &'a str,
    pub content: &'a CertificateContent,
    /// Masked: `张**`.
    pub name_masked: &'a str,
    /// Masked: `110***********4514`.
    pub national_id_masked: &'a str,
    /// `2026-12-03 16:05（北京时间）`.
    pub issued_at: &'a str,
    pub expires_at: &'a str,
    /// Printed under the QR code: the verification page without the token.
    pub verify_url: &'a str,
    /// What the QR code holds: the verification URL with its signed token.
    pub qr_text: &'a str,
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const BOTTOM: f32 = PAGE_H - 60.0;
const LINE: f32 = 14.0;
const BODY: f32 = 10.0;
/// Month column, then the five insurances.
const MONTH_COLUMNS: [f32; 6] = [LEFT, 130.0, 215.0, 300.0, 385.0, 470.0];
/// Insurance, standing, months paid, employee, employer, arrears months, arrears.
const TOTAL_COLUMNS: [f32; 7] = [LEFT, 118.0, 180.0, 240.0, 320.0, 400.0, 460.0];

/// The certificate as a PDF.
pub fn certificate(sheet: &CertificateSheet<'_>) -> Result<Vec<u8>, PdfError> {
    let font = Font::new(Data::from(FONT), 0).ok_or(PdfError::Font)?;
    let qr = QrCode::encode_text(sheet.qr_text, QrCodeEcc::Low)
        .map_err(|e| PdfError::Qr(e.to_string()))?;
    let c = sheet.content;

    // The pages' rows: the header of page one and the totals take fixed room; the months
    // flow over as many pages as they need.
    let mut document = Document::new();
    let mut pages: Vec<Vec<Row>> = Vec::new();
    let mut current: Vec<Row> = Vec::new();
    let mut y = first_page_rows(sheet, &mut current);
    let mut push = |row: Row, height: f32, y: &mut f32, current: &mut Vec<Row>| {
        if *y + height > BOTTOM {
            pages.push(std::mem::take(current));
            *y = 70.0;
        }
        current.push(row.at(*y));
        *y += height;
    };
    push(
        Row::Text(BODY + 2.0, LEFT, "缴费合计（金额单位：元）".into()),
        LINE + 4.0,
        &mut y,
        &mut current,
    );
    push(
        Row::Cells(
            BODY,
            &TOTAL_COLUMNS,
            [
                "险种",
                "参保状态",
                "已缴月数",
                "个人缴纳",
                "单位缴纳",
                "欠缴月数",
                "欠缴金额",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ),
        LINE,
        &mut y,
        &mut current,
    );
    push(Row::Rule, 4.0, &mut y, &mut current);
    for (insurance, standing) in &c.standing {
        push(
            Row::Cells(BODY, &TOTAL_COLUMNS, total_cells(c, *insurance, *standing)),
            LINE,
            &mut y,
            &mut current,
        );
    }
    push(Row::Gap, LINE, &mut y, &mut current);
    push(
        Row::Text(BODY + 2.0, LEFT, "逐月缴费状态".into()),
        LINE + 4.0,
        &mut y,
        &mut current,
    );
    let mut header = vec!["月份".to_owned()];
    header.extend(["养老", "医疗", "失业", "工伤", "生育"].map(str::to_owned));
    push(
        Row::Cells(BODY, &MONTH_COLUMNS, header),
        LINE,
        &mut y,
        &mut current,
    );
    push(Row::Rule, 4.0, &mut y, &mut current);
    for m in &c.months {
        let mut cells = vec![m.period.to_string()];
        cells.extend(m.cells.iter().map(|cell| cell_word_zh(cell)));
        push(
            Row::Cells(BODY, &MONTH_COLUMNS, cells),
            LINE,
            &mut y,
            &mut current,
        );
    }
    push(Row::Gap, LINE, &mut y, &mut current);
    push(
        Row::Text(
            BODY - 1.0,
            LEFT,
            "说明：已缴＝已足额缴费；待缴＝未到缴费期限；欠缴＝逾期未缴；待确认＝已申报待核定；无＝该月无缴费记录。".into(),
        ),
        LINE,
        &mut y,
        &mut current,
    );
    push(
        Row::Text(
            BODY - 1.0,
            LEFT,
            "本证明由社保服务平台自动生成，扫描二维码或访问核验地址可核验真伪；文件的 SHA-256 应与核验结果一致。".into(),
        ),
        LINE,
        &mut y,
        &mut current,
    );
    pages.push(current);

    let total = pages.len();
    for (n, rows) in pages.into_iter().enumerate() {
        let mut page = document.start_page_with(
            PageSettings::from_wh(PAGE_W, PAGE_H)
                .ok_or_else(|| PdfError::Write("page size".into()))?,
        );
        let mut surface = page.surface();
        if n == 0 {
            // 150 pt: a URL with its token is a code of version 14 or so at level L (73
            // modules, and the quiet zone), about 0.65 mm a module, which phone cameras read.
            draw_qr(&mut surface, &qr, RIGHT - 150.0, 36.0, 150.0);
            text(
                &mut surface,
                &font,
                8.0,
                RIGHT - 100.0,
                196.0,
                "扫码核验真伪",
            );
        }
        for row in rows {
            row.draw(&mut surface, &font);
        }
        let footer = format!("证明编号 {}    第 {} 页 / 共 {} 页", sheet.id, n + 1, total);
        text(&mut surface, &font, 8.0, LEFT, PAGE_H - 30.0, &footer);
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))
}

/// The title and the holder's details; returns where the next row goes.
fn first_page_rows(sheet: &CertificateSheet<'_>, rows: &mut Vec<Row>) -> f32 {
    let c = sheet.content;
    rows.push(Row::Text(24.0, LEFT, "参保证明".into()).at(70.0));
    rows.push(Row::Text(13.0, LEFT, format!("（{}）", c.kind.title_zh())).at(94.0));
    let lines = [
        format!("姓名：{}", sheet.name_masked),
        format!("公民身份号码：{}", sheet.national_id_masked),
        format!("证明期间：{} 至 {}", c.period.from, c.period.to),
        format!("证明编号：{}", sheet.id),
        format!("出具时间：{}", sheet.issued_at),
        format!("有效期至：{}", sheet.expires_at),
        format!("核验地址：{}", sheet.verify_url),
    ];
    let mut y = 130.0;
    for l in lines {
        rows.push(Row::Text(BODY + 0.5, LEFT, l).at(y));
        y += LINE + 2.0;
    }
    let lead = match c.kind {
        CertificateKind::ContributionHistory => {
            "兹证明上述人员在证明期间内的社会保险缴费情况如下。"
        }
        CertificateKind::InsuredStatus => {
            "兹证明上述人员截至证明期间末月的参保状态及缴费情况如下。"
        }
    };
    y += 6.0;
    rows.push(Row::Text(BODY + 0.5, LEFT, lead.into()).at(y));
    y + LINE + 10.0
}

fn total_cells(
    c: &CertificateContent,
    insurance: InsuranceType,
    standing: Standing,
) -> Vec<String> {
    let t = c.totals.iter().find(|t| t.insurance == insurance);
    let months = |v: Option<u32>| v.unwrap_or(0).to_string();
    vec![
        insurance_word_zh(insurance).to_owned(),
        standing.word_zh().to_owned(),
        months(t.map(|t| t.months_paid)),
        yuan(t.map_or(0, |t| t.employee_total.0)),
        yuan(t.map_or(0, |t| t.employer_total.0)),
        months(t.map(|t| t.arrears_months)),
        yuan(t.map_or(0, |t| t.arrears.0)),
    ]
}

/// One row of a page, placed at its baseline `y`.
enum Row {
    Text(f32, f32, String),
    Cells(f32, &'static [f32], Vec<String>),
    Rule,
    Gap,
    Placed(Box<Row>, f32),
}

impl Row {
    fn at(self, y: f32) -> Row {
        Row::Placed(Box::new(self), y)
    }

    fn draw(self, surface: &mut Surface<'_>, font: &Font) {
        let Row::Placed(row, y) = self else {
            return;
        };
        match *row {
            Row::Text(size, x, s) => text(surface, font, size, x, y, &s),
            Row::Cells(size, columns, cells) => {
                for (x, s) in columns.iter().zip(cells) {
                    text(surface, font, size, *x, y, &s);
                }
            }
            Row::Rule => {
                let mut pb = PathBuilder::new();
                pb.move_to(LEFT, y - 10.0);
                pb.line_to(RIGHT, y - 10.0);
                if let Some(path) = pb.finish() {
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        paint: luma::Color::new(120).into(),
                        width: 0.6,
                        ..Default::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                }
            }
            Row::Gap | Row::Placed(..) => {}
        }
    }
}

fn text(surface: &mut Surface<'_>, font: &Font, size: f32, x: f32, y: f32, s: &str) {
    surface.draw_text(
        Point::from_xy(x, y),
        font.clone(),
        size,
        s,
        false,
        TextDirection::Auto,
    );
}

/// The QR code as one path of black squares (with its quiet zone left blank), `size` points
/// wide, its top left corner at (`x`, `y`).
fn draw_qr(surface: &mut Surface<'_>, qr: &QrCode, x: f32, y: f32, size: f32) {
    let n = qr.size();
    // Four modules of quiet zone on each side.
    let module = size / (n + 8) as f32;
    let origin = (x + 4.0 * module, y + 4.0 * module);
    let mut pb = PathBuilder::new();
    for row in 0..n {
        for col in 0..n {
            if qr.get_module(col, row) {
                if let Some(r) = Rect::from_xywh(
                    origin.0 + col as f32 * module,
                    origin.1 + row as f32 * module,
                    module,
                    module,
                ) {
                    pb.push_rect(r);
                }
            }
        }
    }
    if let Some(path) = pb.finish() {
        surface.set_stroke(None);
        surface.set_fill(Some(Fill::default()));
        surface.draw_path(&path);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shebao_domain::certificates::{content, CertificatePeriod};
    use shebao_domain::money::Fen;
    use shebao_domain::period::Period;
    use shebao_domain::statement::{ContributionStatus, MonthRow};

    fn sheet_pdf(from: &str, to: &str) -> Vec<u8> {
        let period = CertificatePeriod::new(
            Period::parse(from).unwrap(),
            Period::parse(to).unwrap(),
            Period::parse("2026-12").unwrap(),
        )
        .unwrap();
        let rows: Vec<MonthRow> = period
            .months()
            .into_iter()
            .map(|p| MonthRow {
                period: p,
                insurance: InsuranceType::Pension,
                status: ContributionStatus::Paid,
                employer: Fen(160_000),
                employee: Fen(80_000),
            })
            .collect();
        let c = content(CertificateKind::ContributionHistory, period, &rows);
        certificate(&CertificateSheet {
            id: "0193a1b2-0000-7000-8000-000000000001",
            content: &c,
            name_masked: "张**",
            national_id_masked: "110***********4514",
            issued_at: "2026-12-03 16:05（北京时间）",
            expires_at: "2027-03-03 16:05（北京时间）",
            verify_url: "http://127.0.0.1:8080/v1/certificates/0193a1b2/verify",
            qr_text: "http://127.0.0.1:8080/v1/certificates/0193a1b2/verify?token=eyJhbGciOiJFZERTQSJ9.e30.sig",
        })
        .unwrap()
    }

    #[test]
    fn a_certificate_is_a_pdf_with_a_subsetted_embedded_font() {
        let pdf = sheet_pdf("2025-01", "2025-12");
        assert!(pdf.starts_with(b"%PDF-"));
        // The font is embedded (a FontFile3 of the subset), not referenced by name.
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/FontFile3") || text.contains("/FontFile2"));
        // Subsetted: the whole 1.5 MB font is not inside.
        assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    }

    #[test]
    fn ten_years_of_months_flow_over_pages() {
        let pdf = sheet_pdf("2017-01", "2026-12");
        let text = String::from_utf8_lossy(&pdf);
        // 120 months: 25 on the first page under the header and totals, 50 a page after it.
        assert!(text.contains("/Count 3"), "three pages expected");
    }
}
