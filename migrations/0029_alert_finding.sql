-- The clinician alert in the reader's language (issue 18).
-- Its push: 0023's afterglow_raise_alert wrote the neutral title and body in English for
-- everyone; now the body follows users.language (0024) of each recipient (SQL cannot read the
-- catalogue, so the Spanish is here, in the catalogue's voice; tests/push/test_alert_language.py
-- reads both pushes). Still nothing health-related: the same sentence for every alert.
-- Its finding: an alert says what was found as a catalogue message and its values
-- (server/domain/said.py), so a clinician reads it in their own language: {"message": the
-- English message id, "params": {name: value, or a list of such findings}}. ``detail`` stays, in
-- English, for the CSV export and for the alerts raised before this migration, which have no
-- finding (NULL) and are read in their detail. The detail reaches the table as an argument of
-- afterglow_raise_alert, so the function takes the finding beside it: a new five-argument
-- function with 0023's body, the push in the recipient's language and the finding inserted; the
-- four-argument one now raises through it with no finding.

ALTER TABLE alerts ADD COLUMN finding jsonb
    CHECK (finding IS NULL OR (jsonb_typeof(finding) = 'object'
                               AND length(finding::text) <= 2000));

CREATE FUNCTION afterglow_raise_alert(alert_patient uuid, alert_kind text, alert_day date,
                                      alert_detail text, alert_finding jsonb)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    raised integer;
BEGIN
    IF NOT (alert_patient = (SELECT afterglow_patient())
            OR EXISTS (SELECT FROM public.shares s
                        WHERE s.patient_id = alert_patient
                          AND s.clinician_id = (SELECT afterglow_clinician())
                          AND s.revoked_at IS NULL)
            OR alert_patient = ANY ((SELECT afterglow_team_patients('clinical'))::uuid[])
            OR session_user = current_user) THEN
        RAISE EXCEPTION 'a request raises alerts only about its own patient'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    WITH recipients AS (
        SELECT s.clinician_id FROM public.shares s
         WHERE s.patient_id = alert_patient AND s.clinician_id IS NOT NULL
           AND s.revoked_at IS NULL
        UNION
        SELECT m.clinician_id
          FROM public.clinic_shares cs JOIN public.clinic_members m ON m.clinic_id = cs.clinic_id
         WHERE cs.patient_id = alert_patient AND cs.revoked_at IS NULL
           AND m.roles && ARRAY(SELECT r.role FROM public.clinic_role_rights r
                                 WHERE r.right_ = 'alerts')
    ), raised_now AS (
        INSERT INTO public.alerts AS a (patient_id, clinician_id, kind, local_day, detail,
                                        finding)
        SELECT alert_patient, r.clinician_id, alert_kind, alert_day, alert_detail, alert_finding
          FROM recipients r
        ON CONFLICT DO NOTHING
        RETURNING a.id, a.clinician_id
    ), pushed AS (
        INSERT INTO public.push_outbox (user_id, kind, occurrence, due_at, stale_at, payload,
                                        urgency, next_attempt_at)
        SELECT r.clinician_id, 'patient_attention', 'alert:' || r.id, now(),
               now() + interval '24 hours',
               jsonb_build_object(
                   'title', 'Afterglow',
                   'body', CASE u.language
                       WHEN 'es' THEN 'Un paciente que comparte sus datos contigo necesita tu '
                                      'atención. Abre Afterglow para verlo.'
                       ELSE 'A patient who shares with you needs your attention. '
                            'Open Afterglow to see it.'
                   END,
                   'url', '/clinician',
                   'tag', 'patient-attention'),
               'high', now()
          FROM raised_now r JOIN public.users u ON u.id = r.clinician_id
        ON CONFLICT DO NOTHING
    ), mailed AS (
        INSERT INTO public.mail_outbox (user_id, kind, recipient, stale_at)
        SELECT r.clinician_id, 'alert', u.email, now() + interval '24 hours'
          FROM raised_now r JOIN public.users u ON u.id = r.clinician_id
    )
    SELECT count(*) INTO raised FROM raised_now;
    RETURN raised;
END
$$;

REVOKE ALL ON FUNCTION afterglow_raise_alert(uuid, text, date, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_raise_alert(uuid, text, date, text, jsonb) TO afterglow_app;

CREATE OR REPLACE FUNCTION afterglow_raise_alert(alert_patient uuid, alert_kind text,
                                                 alert_day date, alert_detail text)
RETURNS integer
LANGUAGE sql SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT public.afterglow_raise_alert(alert_patient, alert_kind, alert_day, alert_detail,
                                        NULL::jsonb)
$$;
