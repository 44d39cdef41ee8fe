// Fleet: 1,000 agents (FLEET_AGENTS) in one process poll one loopback `git http-backend` server
// through a counting proxy, each with the product's daemon loop, git source (its own clone in its
// own state dir on tmpfs, a real smart-HTTP exchange at every poll) and spool flush, on a
// simulated clock that only moves while no agent does real work (bench/fleet/sim.mjs). Measures
// steady requests and bytes per poll and their extrapolation to 10,000 hosts at a 60 s interval;
// a 10-minute Git outage (503) with a push during it: the recovery's peak request rate against
// the steady mean (goal ≤ 2×, over 10 s: at 1,000 agents as many requests as 1 s of 10,000) and
// agents without the new commit two intervals after recovery (goal 0); a 10-minute check-in API
// outage while every agent spools a report a minute: the drain's peak against its mean (goal
// ≤ 2×) and reports lost or delivered twice at a loopback check-in server (goal 0). The proxy
// caches the backend's answers until a push (1,000 identical ref advertisements cost one
// backend run; FLEET_SERVER_CACHE=0 runs the backend for every request). Details in bench/fleet.mjs.
export { default } from './fleet.mjs';
