-- What the audit trail keeps that a request cannot write as its own act, and what outlives an
-- erased account.
--
-- * An accounting of disclosures. When a patient's account is erased, every time a clinician saw,
--   exported or changed their data is copied here under a subject id drawn at random for that
--   erasure: it holds neither the patient's id nor their email, and nothing links it to them but
--   the erasure's own audit row (which names no patient either). The copy is made by
--   afterglow_erasure in the erasure's transaction, before the cascade takes the patient's audit
--   rows. The app's role has no privilege on the table: only that function writes it, and
--   operators read it as the owner.
-- * A failed or refused sign-in is written by afterglow_note_sign_in: the request has no grant
--   yet, and who tried is not known, so it cannot be the row's actor.
CREATE TABLE disclosures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject     uuid NOT NULL,          -- random, one per erased account
    at          timestamptz NOT NULL,   -- when the clinician acted
    actor_id    uuid,                   -- the clinician (no foreign key: outlives their account)
    actor_name  text NOT NULL,
    action      text NOT NULL,
    address     text NOT NULL,
    erased_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX disclosures_subject ON disclosures (subject, at);
CREATE INDEX disclosures_actor ON disclosures (actor_id, at);
REVOKE ALL ON disclosures FROM PUBLIC, afterglow_app;
REVOKE ALL ON SEQUENCE disclosures_id_seq FROM PUBLIC, afterglow_app;

-- Erasure (services/accounts.py): keep the disclosures of ``account``'s data (``disclosed``: the
-- clinicians' actions that count) under a fresh subject id, and write the erasure's audit row: a
-- patient's names no account, a clinician's names the clinician, as all their rows do. Returns
-- the subject id. Only the signed-in account itself (or the owner) may be erased this way.
CREATE FUNCTION afterglow_erasure(account uuid, disclosed text[], address text) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    subject uuid := gen_random_uuid();
    erased public.users;
BEGIN
    SELECT * INTO erased FROM public.users u
     WHERE u.id = afterglow_erasure.account
       AND (u.id = (SELECT afterglow_user()) OR session_user = current_user);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'only the signed-in account can be erased'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.disclosures (subject, at, actor_id, actor_name, action, address)
    SELECT subject, e.at, e.actor_id, e.actor_name, e.action, e.address
      FROM public.audit_events e
     WHERE e.patient_id = erased.id AND e.actor_role = 'clinician'
       AND e.action = ANY (afterglow_erasure.disclosed)
     ORDER BY e.id;
    INSERT INTO public.audit_events (patient_id, actor_id, actor_role, actor_name, action,
                                     address, detail)
    VALUES (NULL,
            CASE WHEN erased.role = 'clinician' THEN erased.id END,
            erased.role,
            CASE WHEN erased.role = 'clinician' THEN erased.display_name ELSE '' END,
            'account_delete',
            afterglow_erasure.address,
            jsonb_build_object('disclosures', subject));
    RETURN subject;
END
$$;

-- A failed sign-in into ``account``, or one refused by the throttle: a patient's is in their
-- access log, a clinician's about no patient. The actor is unknown (whoever typed the password).
CREATE FUNCTION afterglow_note_sign_in(account uuid, action text, address text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.audit_events (patient_id, actor_id, actor_role, actor_name, action,
                                     address, detail)
    SELECT CASE WHEN u.role = 'patient' THEN u.id END, NULL, 'unknown', 'Someone', $2, $3,
           jsonb_build_object('account', u.id)
      FROM public.users u
     WHERE u.id = $1 AND $2 IN ('sign_in_failed', 'sign_in_blocked')
$$;

REVOKE ALL ON FUNCTION afterglow_erasure(uuid, text[], text),
    afterglow_note_sign_in(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_erasure(uuid, text[], text),
    afterglow_note_sign_in(uuid, text, text) TO afterglow_app;
