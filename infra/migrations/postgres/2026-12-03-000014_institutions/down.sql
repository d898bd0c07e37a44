DROP TABLE appointments;
DROP TABLE institution_slots;
DROP TABLE institution_departments;
DROP TABLE institutions;
