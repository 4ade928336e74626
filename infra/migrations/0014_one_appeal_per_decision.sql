-- depends: 0012_deadline_failures
-- A decision has at most one appeal pending or upheld (DSA Art 20: the affected party complains, the
-- platform decides once). Before this, a decision could be appealed again and again, and every upheld
-- appeal reversed it again: the case was reopened and rejected anew, each time counting a rejection
-- against the notifier. The use case checks first, for a clear error; the index holds under races.
--
-- Appeals filed while an earlier one against the same decision was pending or upheld are marked
-- `superseded` (an upheld one is kept first, then the earliest): what was decided on them stays in the
-- decision log, and they can no longer be decided. The owner does this with row security set aside
-- for the statement's transaction (FORCE applies to the owner too, and it has no tenant).
ALTER TABLE appeals DROP CONSTRAINT appeals_status_check;
ALTER TABLE appeals ADD CONSTRAINT appeals_status_check
  CHECK (status IN ('filed', 'upheld', 'rejected', 'superseded'));
ALTER TABLE appeals NO FORCE ROW LEVEL SECURITY;
UPDATE appeals a SET status = 'superseded'
  FROM (SELECT tenant_id, id, row_number() OVER (
          PARTITION BY tenant_id, decision_id
          ORDER BY status = 'upheld' DESC, decided_at NULLS LAST, filed_at, id) AS n
        FROM appeals WHERE status IN ('filed', 'upheld')) d
  WHERE a.tenant_id = d.tenant_id AND a.id = d.id AND d.n > 1;
ALTER TABLE appeals FORCE ROW LEVEL SECURITY;
CREATE UNIQUE INDEX appeals_one_standing ON appeals (tenant_id, decision_id) WHERE status IN ('filed', 'upheld');
