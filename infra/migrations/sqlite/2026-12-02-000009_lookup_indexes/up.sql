-- Staff look-ups by name: persons by exact name within a region, employers by exact name,
-- each paged by id.
CREATE INDEX persons_region_name_idx ON persons (region_code, name, id);
CREATE INDEX employers_name_idx ON employers (name, id);
