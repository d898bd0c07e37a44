//! Designated institutions in the database: the bulk loader, the copy of every institution each
//! server keeps for the "near me" search (`atlas`), slots and appointments (places taken by a
//! conditional update, so a slot is never overbooked on either backend), and the appointment
//! reminder.

pub mod appointments;
pub mod atlas;
pub mod import;
pub mod slots;
pub mod store;
