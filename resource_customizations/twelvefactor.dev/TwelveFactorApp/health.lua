-- Argo CD health check for twelvefactor.dev/TwelveFactorApp.
--
-- Install it under resource.customizations.health.twelvefactor.dev_TwelveFactorApp
-- in argocd-cm (docs/gitops.md). It only uses Lua's base and table libraries,
-- the ones Argo CD opens for health checks from argocd-cm.
--
-- The operator follows kstatus: Ready, Reconciling and Stalled conditions, and
-- status.observedGeneration, which it sets only when a pass ends Ready or
-- Stalled. In order:
--   1. a spec the operator has not observed yet           -> Progressing
--   2. Stalled=True (invalid spec, missing pinned release) -> Degraded
--   3. Ready=False because a release phase or rollout failed -> Degraded
--   4. Ready=True while spec.rollbackTo pins a release     -> Suspended
--   5. Ready=True                                          -> Healthy
--   6. anything else (Reconciling, no conditions yet)      -> Progressing
local hs = {}

local function condition(conditions, type)
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function messageOf(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
local status = obj.status
if status == nil then
  status = {}
end
local observed = status.observedGeneration
if observed == nil then
  observed = 0
end

if observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local conditions = status.conditions
if conditions == nil then
  conditions = {}
end
local ready = condition(conditions, "Ready")
local reconciling = condition(conditions, "Reconciling")
local stalled = condition(conditions, "Stalled")

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = messageOf(stalled, "The operator cannot make progress (" .. tostring(stalled.reason) .. ")")
  return hs
end

if ready ~= nil and ready.status == "False" and (ready.reason == "ReleasePhaseFailed" or ready.reason == "RolloutFailed") then
  hs.status = "Degraded"
  hs.message = messageOf(ready, "The latest release failed (" .. ready.reason .. ")")
  return hs
end

if ready ~= nil and ready.status == "True" then
  if status.pinned == true then
    hs.status = "Suspended"
    hs.message = "Pinned to v" .. tostring(status.currentRelease)
    if status.latestRelease ~= nil then
      hs.message = hs.message .. " (latest is v" .. tostring(status.latestRelease) .. ")"
    end
    return hs
  end
  hs.status = "Healthy"
  hs.message = messageOf(ready, "Release v" .. tostring(status.currentRelease) .. " is running")
  return hs
end

hs.status = "Progressing"
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = messageOf(reconciling, "The operator is reconciling the app")
elseif #conditions == 0 then
  hs.message = "Waiting for the operator to report status"
else
  hs.message = messageOf(ready, "Waiting for the app to become Ready")
end
return hs
