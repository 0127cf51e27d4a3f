/*
 * The agent's persistent id (agent.id): a UUID kept in STATE_DIR/agent.id.
 */
#ifndef VG_IDENTITY_H
#define VG_IDENTITY_H

#include "hash.h"

/* Reads STATE_DIR/agent.id, or makes a random one and writes it there
 * (creating the directory with mode 0750). When the state directory cannot
 * be written (a scan run by hand as an ordinary user), falls back to a
 * UUIDv5 of this machine's /etc/machine-id or, without one, of its host
 * name, so
 * the id is still stable; the fallback is logged at debug level. */
void vg_agent_id(const char *state_dir, char out[VG_UUID_STR_LEN]);

#endif
