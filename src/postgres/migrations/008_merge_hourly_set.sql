-- core.merge_hourly() as set operations (docs/postgres.md, "Hourly merge").
-- 003 upserted one file of a batch at a time, each pass finding its rows
-- through the batch index: a batch of 64 files read its staging rows 64
-- times. Now the batch goes in rounds: round k upserts, for every (tenant,
-- device, channel, hour), the k-th partial of the batch in file_id order. A
-- key only one file brings is done in round 1, so a batch whose files do not
-- share hours is one upsert; the hour where one export ends and the next
-- begins takes a second round. Every hourly row still receives its partials
-- one at a time in file_id order, as with 003, so the result is the same to
-- the last bit (and core.recompute_hourly() still agrees with it).

CREATE OR REPLACE FUNCTION core.merge_hourly(p_batch bigint) RETURNS bigint
  LANGUAGE plpgsql SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_rows bigint;
  v_rounds int;
  v_round int;
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

  SELECT coalesce(max(n), 0) INTO v_rounds
    FROM (SELECT count(*) AS n FROM staging.hourly_partials WHERE batch_id = p_batch
           GROUP BY tenant, device_master_sn, channel_id, hour) keys;

  -- round k: the k-th partial of every key (within a file a key is unique:
  -- primary key of core.file_hourly)
  FOR v_round IN 1..v_rounds LOOP
    INSERT INTO core.hourly AS h (tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
                                  samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh)
    SELECT tenant, campaign, device_master_sn, channel_id, channel_unit, hour,
           samples, sum_value, min_value, max_value, first_time, first_value, last_time, last_value, energy_wh
      FROM (SELECT s.*, row_number() OVER (PARTITION BY s.tenant, s.device_master_sn, s.channel_id, s.hour ORDER BY s.file_id) AS k
              FROM staging.hourly_partials s
             WHERE s.batch_id = p_batch) r
     WHERE r.k = v_round
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
COMMENT ON FUNCTION core.merge_hourly(bigint) IS 'moves staging.hourly_partials of one batch into core.file_hourly and adds them into core.hourly, in rounds: round k adds the k-th partial of every key in file_id order; returns the rows merged';
