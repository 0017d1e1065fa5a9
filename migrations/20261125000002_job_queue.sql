-- A source may have one running job and, behind it, one queued job (a
-- re-upload or a settings change while it runs must not be lost).
drop index ingest_job_active_key;
create unique index ingest_job_queued_key on ingest_job (source_id) where status = 'queued';
create unique index ingest_job_running_key on ingest_job (source_id) where status = 'running';
