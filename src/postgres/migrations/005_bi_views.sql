-- BI views, one set per tool (same columns, separate grants): Metabase reads
-- bi.vw_metabase_*, Power BI bi.vw_powerbi_*, tenant roles both.
--
-- The views are owned by bi_owner, which is neither the table owner nor
-- BYPASSRLS: reading through a view applies core's row-level security, with
-- current_user = the reader (004_tenants_rls.sql). Readers need no grant on
-- core at all.

GRANT USAGE, CREATE ON SCHEMA bi TO bi_owner;
GRANT USAGE ON SCHEMA core TO bi_owner;
GRANT SELECT ON core.hourly, core.tenants, core.channels TO bi_owner;
GRANT USAGE ON SCHEMA bi TO lecteur_metabase, lecteur_powerbi, powerview_tenants;

DO $views$
DECLARE
  tool record;
BEGIN
  FOR tool IN SELECT * FROM (VALUES ('metabase', 'lecteur_metabase'), ('powerbi', 'lecteur_powerbi')) AS v(prefix, reader) LOOP
    EXECUTE pg_catalog.format($sql$
      CREATE VIEW bi.%I AS
      SELECT h.tenant,
             h.campaign,
             h.device_master_sn,
             h.channel_id,
             c.channel_label,
             c.channel_name,
             h.channel_unit,
             c.device_sn,
             c.device_type,
             h.hour,
             h.samples,
             h.sum_value,
             h.sum_value / NULLIF(h.samples, 0) AS avg_value,
             h.min_value,
             h.max_value,
             h.first_time,
             h.first_value,
             h.last_time,
             h.last_value,
             h.energy_wh
        FROM core.hourly h
        LEFT JOIN core.channels c ON c.tenant = h.tenant AND c.channel_id = h.channel_id
    $sql$, 'vw_' || tool.prefix || '_channel_hourly');

    -- days and months in the tenant's zone: an hour belongs to the local day of its start
    EXECUTE pg_catalog.format($sql$
      CREATE VIEW bi.%I AS
      SELECT h.tenant,
             h.campaign,
             h.device_master_sn,
             h.channel_id,
             c.channel_label,
             c.channel_name,
             t.time_zone,
             pg_catalog.date_trunc('day', h.hour AT TIME ZONE t.time_zone)::date AS day,
             pg_catalog.count(*) AS hours,
             pg_catalog.sum(h.samples)::bigint AS samples,
             pg_catalog.sum(h.energy_wh) AS energy_wh,
             pg_catalog.sum(h.energy_wh) / 1000 AS energy_kwh
        FROM core.hourly h
        JOIN core.tenants t ON t.tenant = h.tenant
        LEFT JOIN core.channels c ON c.tenant = h.tenant AND c.channel_id = h.channel_id
       WHERE h.channel_unit = 'W'
       GROUP BY h.tenant, h.campaign, h.device_master_sn, h.channel_id, c.channel_label, c.channel_name, t.time_zone,
                pg_catalog.date_trunc('day', h.hour AT TIME ZONE t.time_zone)::date
    $sql$, 'vw_' || tool.prefix || '_energy_daily');

    EXECUTE pg_catalog.format($sql$
      CREATE VIEW bi.%I AS
      SELECT h.tenant,
             h.campaign,
             h.device_master_sn,
             h.channel_id,
             c.channel_label,
             c.channel_name,
             t.time_zone,
             pg_catalog.date_trunc('month', h.hour AT TIME ZONE t.time_zone)::date AS month,
             pg_catalog.count(*) AS hours,
             pg_catalog.sum(h.samples)::bigint AS samples,
             pg_catalog.sum(h.energy_wh) AS energy_wh,
             pg_catalog.sum(h.energy_wh) / 1000 AS energy_kwh
        FROM core.hourly h
        JOIN core.tenants t ON t.tenant = h.tenant
        LEFT JOIN core.channels c ON c.tenant = h.tenant AND c.channel_id = h.channel_id
       WHERE h.channel_unit = 'W'
       GROUP BY h.tenant, h.campaign, h.device_master_sn, h.channel_id, c.channel_label, c.channel_name, t.time_zone,
                pg_catalog.date_trunc('month', h.hour AT TIME ZONE t.time_zone)::date
    $sql$, 'vw_' || tool.prefix || '_energy_monthly');

    EXECUTE pg_catalog.format('ALTER VIEW bi.%I OWNER TO bi_owner', 'vw_' || tool.prefix || '_channel_hourly');
    EXECUTE pg_catalog.format('ALTER VIEW bi.%I OWNER TO bi_owner', 'vw_' || tool.prefix || '_energy_daily');
    EXECUTE pg_catalog.format('ALTER VIEW bi.%I OWNER TO bi_owner', 'vw_' || tool.prefix || '_energy_monthly');
    EXECUTE pg_catalog.format('GRANT SELECT ON bi.%I, bi.%I, bi.%I TO %I, powerview_tenants',
      'vw_' || tool.prefix || '_channel_hourly', 'vw_' || tool.prefix || '_energy_daily',
      'vw_' || tool.prefix || '_energy_monthly', tool.reader);
  END LOOP;
END
$views$;
