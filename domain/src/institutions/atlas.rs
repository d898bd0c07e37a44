//! The "near me" search over institutions held in memory: a grid of cells of
//! [`CELL_E6`] microdegrees over China's box, each cell's institutions side by side in one sorted
//! array, so that the bounding box of a circle is a few binary searches (one per row of cells it
//! spans) and a scan of the institutions in those cells.
//!
//! 50,000 institutions are a few megabytes: a server holds them all and answers a search without
//! a round trip to the database (`infra::institutions::atlas` keeps the copy current). The order
//! is the list's: the haversine in whole metres, ties by code, exactly as [`super::nearest`] ranks
//! the same institutions (a property test pages through random clusters against it).

use super::{search_radii, GeoPoint, Ranked, LAT_MAX_E6, LAT_MIN_E6, LON_MAX_E6, LON_MIN_E6};

/// What the atlas needs of each thing it holds: where it is and its code (the order's tie-break
/// and the cursor's second half).
pub trait Placed {
    fn position(&self) -> GeoPoint;
    fn code(&self) -> &str;
}

/// The side of a cell: 0.02° (2.2 km north–south; 1.3–2.2 km east–west across China's
/// latitudes), about the first circle a search reads ([`super::FIRST_RADIUS_M`]), so that a
/// city search scans a handful of cells.
pub const CELL_E6: i32 = 20_000;

/// Cells per row (longitude) and rows (latitude) over China's box.
const COLUMNS: u32 = ((LON_MAX_E6 - LON_MIN_E6) / CELL_E6 + 1) as u32;
const ROWS: u32 = ((LAT_MAX_E6 - LAT_MIN_E6) / CELL_E6 + 1) as u32;

/// The row of a latitude (or the column of a longitude), clamped to the grid: a box reaching
/// past China's edge reads the edge's cells.
fn band(e6: i32, min: i32, count: u32) -> u32 {
    let i = (i64::from(e6) - i64::from(min)).div_euclid(i64::from(CELL_E6));
    // Clamped into 0..count: fits.
    i.clamp(0, i64::from(count) - 1) as u32
}

fn cell_of(p: GeoPoint) -> u32 {
    band(p.lat_e6(), LAT_MIN_E6, ROWS) * COLUMNS + band(p.lon_e6(), LON_MIN_E6, COLUMNS)
}

/// One institution found near a point, with its distance in whole metres.
#[derive(Debug)]
pub struct Near<'a, T> {
    pub distance_m: u32,
    pub item: &'a T,
}

impl<T: Placed> Near<'_, T> {
    /// Its place in the list's order: the cursor of a page that ends with it.
    pub fn ranked(&self) -> Ranked {
        Ranked {
            distance_m: self.distance_m,
            code: self.item.code().to_owned(),
        }
    }
}

/// Institutions indexed by position.
#[derive(Debug)]
pub struct Atlas<T> {
    /// The cell of each of `items`, ascending.
    cells: Vec<u32>,
    /// In the order of their cells, then codes.
    items: Vec<T>,
}

impl<T> Default for Atlas<T> {
    fn default() -> Atlas<T> {
        Atlas {
            cells: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl<T: Placed> Atlas<T> {
    pub fn new(items: impl IntoIterator<Item = T>) -> Atlas<T> {
        let mut keyed: Vec<(u32, T)> = items
            .into_iter()
            .map(|t| (cell_of(t.position()), t))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.code().cmp(b.1.code())));
        let (cells, items) = keyed.into_iter().unzip();
        Atlas { cells, items }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every institution.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// Calls `f` with each institution inside `bbox`: the cells the box touches, row by row, and
    /// of their institutions those really inside it.
    fn each_in<'a>(&'a self, bbox: &super::BoundingBox, mut f: impl FnMut(&'a T)) {
        let (row_lo, row_hi) = (
            band(bbox.min_lat_e6, LAT_MIN_E6, ROWS),
            band(bbox.max_lat_e6, LAT_MIN_E6, ROWS),
        );
        let (col_lo, col_hi) = (
            band(bbox.min_lon_e6, LON_MIN_E6, COLUMNS),
            band(bbox.max_lon_e6, LON_MIN_E6, COLUMNS),
        );
        for row in row_lo..=row_hi {
            let (first, last) = (row * COLUMNS + col_lo, row * COLUMNS + col_hi);
            let start = self.cells.partition_point(|&c| c < first);
            let end = start + self.cells[start..].partition_point(|&c| c <= last);
            for item in &self.items[start..end] {
                if bbox.contains(item.position()) {
                    f(item);
                }
            }
        }
    }

    /// A page of the "near me" list: the institutions that `keep` accepts within `radius_m` of
    /// `center` (distance rounded to whole metres ≤ radius: one on the circle is in), nearest
    /// first, ties by code, after the cursor `after`, at most `limit + 1` (one extra tells that
    /// another page follows). Reads the widening circles of [`search_radii`]: a circle that
    /// holds more than `limit` past the cursor settles the page, since nothing outside it can
    /// come before them.
    pub fn nearest(
        &self,
        center: GeoPoint,
        radius_m: u32,
        after: Option<&Ranked>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Vec<Near<'_, T>> {
        let page = limit.saturating_add(1);
        let mut found: Vec<Near<'_, T>> = Vec::new();
        for circle in search_radii(radius_m, after) {
            found.clear();
            // A metre more than the circle: a distance that rounds down onto the circle is in.
            let bbox = center.bounding_box(circle.saturating_add(1));
            self.each_in(&bbox, |item| {
                if !keep(item) {
                    return;
                }
                let distance_m = center.whole_metres(item.position());
                if distance_m > circle {
                    return;
                }
                if let Some(a) = after {
                    if (distance_m, item.code()) <= (a.distance_m, a.code.as_str()) {
                        return;
                    }
                }
                found.push(Near { distance_m, item });
            });
            if found.len() >= page {
                break;
            }
        }
        found.sort_unstable_by(|a, b| {
            a.distance_m
                .cmp(&b.distance_m)
                .then_with(|| a.item.code().cmp(b.item.code()))
        });
        found.truncate(page);
        found
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{nearest, MAX_RADIUS_M};
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Spot {
        code: String,
        at: GeoPoint,
        kind: u8,
    }

    impl Placed for Spot {
        fn position(&self) -> GeoPoint {
            self.at
        }
        fn code(&self) -> &str {
            &self.code
        }
    }

    fn spot(code: &str, lat_e6: i64, lon_e6: i64) -> Spot {
        Spot {
            code: code.to_owned(),
            at: GeoPoint::from_e6(lat_e6, lon_e6).unwrap(),
            kind: 0,
        }
    }

    fn ranked(found: &[Near<'_, Spot>]) -> Vec<Ranked> {
        found.iter().map(Near::ranked).collect()
    }

    /// A deterministic stream of numbers for the property tests (xorshift).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Uniform in `lo..=hi`.
        fn within(&mut self, lo: i64, hi: i64) -> i64 {
            lo + (self.next() % (hi - lo + 1) as u64) as i64
        }
    }

    #[test]
    fn pages_through_random_clusters_in_the_haversine_order() {
        let mut rng = Rng(0x5eed_a71a);
        let mut pages = 0_usize;
        for case in 0..240 {
            // Anywhere in China's box, its edges included (cells there are clamped).
            let lat = rng.within(i64::from(LAT_MIN_E6), i64::from(LAT_MAX_E6));
            let lon = rng.within(i64::from(LON_MIN_E6), i64::from(LON_MAX_E6));
            let center = GeoPoint::from_e6(lat, lon).unwrap();
            let radius = [300, 2_000, 5_000, 20_000, MAX_RADIUS_M][case % 5];
            // Clustered, some on the same spot (ties by code), some past the radius: within a
            // square of 3, 30 or 120 % of the radius each way (a microdegree is ~0.11 m).
            let spread = i64::from(radius) * [3, 30, 120][case % 3] * 9 / 100;
            let mut all = Vec::new();
            for n in 0..rng.within(0, 400) {
                let p = GeoPoint::from_e6(
                    (lat + rng.within(-spread, spread))
                        .clamp(i64::from(LAT_MIN_E6), i64::from(LAT_MAX_E6)),
                    (lon + rng.within(-spread, spread))
                        .clamp(i64::from(LON_MIN_E6), i64::from(LON_MAX_E6)),
                )
                .unwrap();
                let copies = if n % 17 == 0 { 3 } else { 1 };
                for k in 0..copies {
                    all.push(Spot {
                        code: format!("I{n:04}{k}"),
                        at: p,
                        kind: (rng.next() % 3) as u8,
                    });
                }
            }
            let atlas = Atlas::new(all.clone());
            assert_eq!(atlas.len(), all.len());
            // Every other case keeps one kind only, as a filter does.
            let kind = (case % 2 == 1).then_some((case % 3) as u8);
            let keep = |s: &Spot| kind.is_none_or(|k| s.kind == k);
            let candidates: Vec<(String, GeoPoint)> = all
                .iter()
                .filter(|s| keep(s))
                .map(|s| (s.code.clone(), s.at))
                .collect();
            let limit = [1, 7, 20, 50][case % 4];
            let mut after: Option<Ranked> = None;
            loop {
                let expected = nearest(
                    center,
                    radius,
                    candidates.iter().cloned(),
                    after.as_ref(),
                    limit,
                );
                let page = atlas.nearest(center, radius, after.as_ref(), limit, keep);
                assert_eq!(ranked(&page), expected, "case {case}, after {after:?}");
                assert!(page.iter().all(|n| keep(n.item)));
                pages += 1;
                if page.len() <= limit {
                    break;
                }
                after = Some(page[limit - 1].ranked());
            }
        }
        assert!(pages > 600, "{pages}");
    }

    #[test]
    fn a_distance_that_rounds_onto_the_circle_is_in() {
        let center = spot("C", 22_540_000, 114_060_000).at;
        let radius = 1_000;
        // Due north, the first microdegree whose distance is past the radius but rounds to it.
        let edge = (8_990..9_010)
            .map(|d| GeoPoint::from_e6(22_540_000 + d, 114_060_000).unwrap())
            .find(|p| {
                let d = center.distance_m(*p);
                d > f64::from(radius) + 0.3 && d < f64::from(radius) + 0.5
            })
            .unwrap();
        let atlas = Atlas::new(vec![Spot {
            code: "EDGE".to_owned(),
            at: edge,
            kind: 0,
        }]);
        let page = atlas.nearest(center, radius, None, 10, |_| true);
        assert_eq!(
            ranked(&page),
            vec![Ranked {
                distance_m: radius,
                code: "EDGE".to_owned()
            }]
        );
        assert!(atlas
            .nearest(center, radius - 1, None, 10, |_| true)
            .is_empty());
    }

    #[test]
    fn nearest_first_ties_by_code_and_the_cursor_pages_on() {
        // Two on one spot 111 m north, one 222 m north, one across a cell border to the east.
        let base = (22_539_990, 114_059_990);
        let atlas = Atlas::new(vec![
            spot("B", base.0 + 1_000, base.1),
            spot("A", base.0 + 1_000, base.1),
            spot("C", base.0 + 2_000, base.1),
            spot("D", base.0, base.1 + 30),
        ]);
        let center = GeoPoint::from_e6(base.0, base.1).unwrap();
        let all = atlas.nearest(center, 5_000, None, 10, |_| true);
        let codes: Vec<&str> = all.iter().map(|n| n.item.code()).collect();
        assert_eq!(codes, ["D", "A", "B", "C"]);
        assert_eq!(all[0].distance_m, 3);
        assert_eq!(all[1].distance_m, 111);
        // A page of two says more follow, and the cursor after it starts at B.
        let first = atlas.nearest(center, 5_000, None, 2, |_| true);
        assert_eq!(first.len(), 3);
        let next = atlas.nearest(center, 5_000, Some(&first[1].ranked()), 2, |_| true);
        let codes: Vec<&str> = next.iter().map(|n| n.item.code()).collect();
        assert_eq!(codes, ["B", "C"]);
        // A filter leaves the others out; an empty atlas finds nothing.
        let only_c = atlas.nearest(center, 5_000, None, 10, |s| s.code == "C");
        assert_eq!(only_c.len(), 1);
        assert!(Atlas::<Spot>::default()
            .nearest(center, 5_000, None, 10, |_| true)
            .is_empty());
    }

    #[test]
    fn the_far_corners_of_china_sit_in_the_grid() {
        let corners = [
            spot("SW", i64::from(LAT_MIN_E6), i64::from(LON_MIN_E6)),
            spot("NE", i64::from(LAT_MAX_E6), i64::from(LON_MAX_E6)),
        ];
        let atlas = Atlas::new(corners.clone());
        for c in &corners {
            let page = atlas.nearest(c.at, 1_000, None, 5, |_| true);
            assert_eq!(
                ranked(&page),
                vec![Ranked {
                    distance_m: 0,
                    code: c.code.clone()
                }]
            );
        }
        assert!(cell_of(corners[1].at) < ROWS * COLUMNS);
    }
}
