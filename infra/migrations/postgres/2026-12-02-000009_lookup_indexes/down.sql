DROP INDEX employers_name_idx;
DROP INDEX persons_region_name_idx;
