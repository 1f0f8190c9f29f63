-- The COPY target of the ingest and the two functions that turn its rows
-- into core.file_hourly and core.hourly (docs/postgres.md, "Hourly merge").

-- UNLOGGED and without constraints: a COPY target whose rows live for one
-- transaction. Rows are tagged with batch_id so concurrent ingests share it.
CREATE UNLOGGED TABLE staging.hourly_partials (
  batch_id bigint,
  file_id bigint,
  tenant text,
  campaign text,
  device_master_sn text,
  channel_id text,
  channel_unit text,
  hour timestamptz,
  samples bigint,
  sum_value double precision,
  min_value double precision,
  max_value double precision,
  first_time timestamptz,
  first_value double precision,
  last_time timestamptz,
  last_value double precision,
  energy_wh double precision
);
CREATE INDEX hourly_partials_batch ON staging.hourly_partials (batch_id);

-- Moves one batch into core.file_hourly (its constraints check the rows) and
-- adds it into core.hourly, one file at a time in file_id order: samples,
-- sums and energy added, min/max by least/greatest, first/last by time (on a
-- tie the row already there keeps its value), campaign and unit those of the
-- hour's first sample. Sums are a fold of the files in merge order;
-- core.recompute_hourly() folds in file_id order, so when files are merged in
-- file_id order (the ingest's case) both give the same bits, and otherwise
-- the same values up to floating-point rounding. Returns the rows merged.
CREATE FUNCTION core.merge_hourly(p_batch bigint) RETURNS bigint
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_rows bigint;
  v_file bigint;
BEGIN
  IF p_batch IS NULL THEN
    RAISE EXCEPTION 'core.merge_hourly: p_batch must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;

  INSERT INTO core.file_hourly (file_id, tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
                                samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh)
  SELECT file_id, tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
         samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh
    FROM staging.hourly_partials
   WHERE batch_id = p_batch;
  GET DIAGNOSTICS v_rows = ROW_COUNT;

  -- one file at a time: within a file (channel_id, hour) is unique (primary
  -- key of core.file_hourly), so no hourly row is hit twice by one upsert
  FOR v_file IN SELECT DISTINCT file_id FROM staging.hourly_partials WHERE batch_id = p_batch ORDER BY file_id LOOP
    INSERT INTO core.hourly AS h (tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
                                  samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh)
    SELECT tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
           samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh
      FROM staging.hourly_partials
     WHERE batch_id = p_batch AND file_id = v_file
    ON CONFLICT (tenant, device_master_sn, channel_id, hour) DO UPDATE SET
      campaign = CASE WHEN EXCLUDED.first_time < h.first_time THEN EXCLUDED.campaign ELSE h.campaign END,
      channel_unit = CASE WHEN EXCLUDED.first_time < h.first_time THEN EXCLUDED.channel_unit ELSE h.channel_unit END,
      samples = h.samples + EXCLUDED.samples,
      sum_value = h.sum_value + EXCLUDED.sum_value,
      min_value = LEAST(h.min_value, EXCLUDED.min_value),
      max_value = GREATEST(h.max_value, EXCLUDED.max_value),
      first_time = CASE WHEN EXCLUDED.first_time < h.first_time THEN EXCLUDED.first_time ELSE h.first_time END,
      first_value = CASE WHEN EXCLUDED.first_time < h.first_time THEN EXCLUDED.first_value ELSE h.first_value END,
      last_time = CASE WHEN EXCLUDED.last_time > h.last_time THEN EXCLUDED.last_time ELSE h.last_time END,
      last_value = CASE WHEN EXCLUDED.last_time > h.last_time THEN EXCLUDED.last_value ELSE h.last_value END,
      energy_wh = CASE WHEN h.energy_wh IS NULL AND EXCLUDED.energy_wh IS NULL THEN NULL
                       ELSE COALESCE(h.energy_wh, 0) + COALESCE(EXCLUDED.energy_wh, 0) END;
  END LOOP;

  DELETE FROM staging.hourly_partials WHERE batch_id = p_batch;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION core.merge_hourly(bigint) IS 'moves staging.hourly_partials of one batch into core.file_hourly and adds them into core.hourly; returns the rows merged';

-- Rebuilds core.hourly for every (channel, hour) of p_channel_ids x p_hours
-- of one device from what core.file_hourly holds now (after a file's rows
-- were deleted). Parallel arrays of (channel, hour) pairs work too: the
-- extra combinations are rebuilt to what they already were.
CREATE FUNCTION core.recompute_hourly(p_tenant text, p_device text, p_channel_ids text[], p_hours timestamptz[]) RETURNS bigint
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_rows bigint;
BEGIN
  IF p_tenant IS NULL OR p_device IS NULL OR p_channel_ids IS NULL OR p_hours IS NULL THEN
    RAISE EXCEPTION 'core.recompute_hourly: arguments must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;

  DELETE FROM core.hourly h
   WHERE h.tenant = p_tenant
     AND h.device_master_sn = p_device
     AND h.channel_id IN (SELECT unnest(p_channel_ids))
     AND h.hour IN (SELECT unnest(p_hours));

  INSERT INTO core.hourly (tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
                           samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh)
  SELECT f.tenant,
         (array_agg(f.campaign ORDER BY f.first_time, f.file_id))[1],
         f.device_master_sn,
         f.channel_id,
         (array_agg(f.channel_unit ORDER BY f.first_time, f.file_id))[1],
         f.hour,
         sum(f.samples)::bigint,
         sum(f.sum_value ORDER BY f.file_id),
         min(f.min_value),
         max(f.max_value),
         min(f.first_time),
         (array_agg(f.first_value ORDER BY f.first_time, f.file_id))[1],
         max(f.last_time),
         (array_agg(f.last_value ORDER BY f.last_time DESC, f.file_id))[1],
         sum(f.energy_wh ORDER BY f.file_id)
    FROM core.file_hourly f
   WHERE f.tenant = p_tenant
     AND f.device_master_sn = p_device
     AND f.channel_id IN (SELECT unnest(p_channel_ids))
     AND f.hour IN (SELECT unnest(p_hours))
   GROUP BY f.tenant, f.device_master_sn, f.channel_id, f.hour;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION core.recompute_hourly(text, text, text[], timestamptz[]) IS 'rebuilds core.hourly rows of one device for channels x hours from core.file_hourly; returns the rows written';
