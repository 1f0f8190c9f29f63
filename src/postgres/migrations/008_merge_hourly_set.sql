-- core.merge_hourly() in one set operation where it can (docs/postgres.md,
-- "Hourly merge"). 003 upserted one file of a batch at a time, each pass
-- finding its rows through the batch index: a batch of 64 files read its
-- staging rows 64 times. Now:
--   1. the rows whose (tenant, device, channel, hour) no other file of the
--      batch touches go in one upsert: each hourly row gets exactly one
--      partial, as before;
--   2. the rows of keys shared by several files of the batch (the hour where
--      one export ends and the next begins) are upserted file by file, in
--      file_id order, as before.
-- So every hourly row receives the same partials in the same order as with
-- 003, and the result is the same to the last bit (core.recompute_hourly()
-- still agrees with it). The staging index also carries file_id, for step 2.

CREATE INDEX hourly_partials_batch_file ON staging.hourly_partials (batch_id, file_id);
DROP INDEX staging.hourly_partials_batch;

CREATE OR REPLACE FUNCTION core.merge_hourly(p_batch bigint) RETURNS bigint
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

  -- 1. keys only one file of the batch brings: one upsert
  INSERT INTO core.hourly AS h (tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
                                samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh)
  SELECT tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
         samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh
    FROM (SELECT s.*, count(*) OVER (PARTITION BY s.tenant, s.device_master_sn, s.channel_id, s.hour) AS n
            FROM staging.hourly_partials s
           WHERE s.batch_id = p_batch) one
   WHERE one.n = 1
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

  -- 2. keys several files bring: file by file, in file_id order (within a
  -- file a key is unique: primary key of core.file_hourly)
  DELETE FROM staging.hourly_partials s
   USING (SELECT tenant, device_master_sn, channel_id, hour
            FROM staging.hourly_partials
           WHERE batch_id = p_batch
           GROUP BY 1, 2, 3, 4
          HAVING count(*) = 1) one
   WHERE s.batch_id = p_batch
     AND s.tenant = one.tenant AND s.device_master_sn = one.device_master_sn
     AND s.channel_id = one.channel_id AND s.hour = one.hour;

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
COMMENT ON FUNCTION core.merge_hourly(bigint) IS 'moves staging.hourly_partials of one batch into core.file_hourly and adds them into core.hourly (keys of one file in one upsert, shared keys file by file in file_id order); returns the rows merged';
