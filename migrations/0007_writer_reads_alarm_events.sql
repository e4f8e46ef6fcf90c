-- The writer closes a run left open by a console that died just after the run's latest
-- record of every kind that lies in runs (ald_gui.store.runs; each stream kind says where
-- its latest record is), the alarm journal's included: it must read alarm_events, as it
-- reads the samples, the gaps and the steps (0002, 0004). Without this, a console whose
-- login is a writer (every console but a superuser's) could not close such a run and so
-- would stop recording after a crash.
GRANT SELECT ON alarm_events TO ald_writer;
