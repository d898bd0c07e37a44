CREATE INDEX institutions_by_position ON institutions (lat_e6, lon_e6, kind, level, code);
DROP TABLE institutions_version;
