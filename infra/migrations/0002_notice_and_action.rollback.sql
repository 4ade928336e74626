DROP TABLE IF EXISTS decision_chain_heads, decisions, action_proofs, declarations, measures, cases, notices,
  policy_versions CASCADE;
