-- bi.vw_report_quality (013) repeated bi.vw_metabase_quality (012) column for column; `powerview report`
-- reads bi.vw_metabase_quality (granted to powerview_tenants, row-level security as the reader), so the
-- copy and its catalog row go.
DROP VIEW bi.vw_report_quality;
DELETE FROM core.datasets_catalog WHERE schema_name = 'bi' AND name = 'vw_report_quality';
