-- Every accepted update rewrites its device's shadow row. With full pages the
-- new row version never fits next to the old one, so each update is non-HOT:
-- it touches the primary key and the online index too. Half-empty pages let
-- PostgreSQL keep the new version on the same page (a HOT update) whenever the
-- indexed columns did not change. Applies to pages written from now on;
-- `VACUUM FULL device_shadows` in a quiet hour rewrites the existing ones.
ALTER TABLE device_shadows SET (fillfactor = 50);
