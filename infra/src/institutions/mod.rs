//! Designated institutions in the database: the bulk loader, the "near me" search (a bounding
//! box read from an index), slots and appointments (places taken by a conditional update, so a
//! slot is never overbooked on either backend), and the appointment reminder.

pub mod appointments;
pub mod import;
pub mod slots;
pub mod store;
