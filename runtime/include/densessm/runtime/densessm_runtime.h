/*===- densessm_runtime.h - the densessm runtime's C API ------------------===*
 *
 * Loads a compiled module (.dssm), creates sessions over it and runs its
 * entry points. Every function that can fail returns a dssm_status: NULL
 * means success, anything else carries a message (dssm_status_message) and
 * must be freed with dssm_status_free.
 *
 * Ownership: a session holds a reference to its module, so releasing the
 * module while sessions are alive is safe (it is freed with the last one).
 * A module may be shared by sessions on several threads; one session must
 * be used by one thread at a time.
 *
 * A session serves `batch` sequences (slots 0 .. batch-1). Each keeps its
 * own recurrent state and position; prefill and step advance the slots
 * they are given and leave the others untouched.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DENSESSM_RUNTIME_DENSESSM_RUNTIME_H
#define DENSESSM_RUNTIME_DENSESSM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The runtime builds with hidden visibility; this API is what it exports. */
#pragma GCC visibility push(default)

#define DSSM_ABI_VERSION 1

typedef struct dssm_status_s *dssm_status;
typedef struct dssm_module_s dssm_module;
typedef struct dssm_session_s dssm_session;

/* --- status ------------------------------------------------------------ */
const char *dssm_status_message(dssm_status status);
void dssm_status_free(dssm_status status);

/* --- modules ----------------------------------------------------------- */
/* Maps the file and verifies the FlatBuffer and every payload offset. */
dssm_status dssm_module_load_file(const char *path, dssm_module **out);
/* Copies `size` bytes at `data`; `name` appears in error messages. */
dssm_status dssm_module_load_memory(const void *data, size_t size,
                                    const char *name, dssm_module **out);
void dssm_module_release(dssm_module *module);

int64_t dssm_module_vocab_size(const dssm_module *module);
/* The bytes of all weights: what one decode step reads at least once. */
uint64_t dssm_module_weight_bytes(const dssm_module *module);
/* "mamba", "densemamba", "retnet" or "denseretnet". */
const char *dssm_module_family(const dssm_module *module);

/* --- sessions ---------------------------------------------------------- */
typedef enum {
  DSSM_DEVICE_CPU = 0,
  DSSM_DEVICE_CUDA = 1,
  /* CUDA when a GPU and a CUDA executable are there, otherwise the CPU. */
  DSSM_DEVICE_AUTO = 2,
  /* Not a device: makes every int32 a valid value of the type, so that the
   * runtime can report a wrong one (C++ would not let it look otherwise). */
  DSSM_DEVICE_MAX_ENUM = 0x7FFFFFFF
} dssm_device;

typedef enum {
  /* The whole prompt in one call of the parallel-schedule entry point. */
  DSSM_PREFILL_PARALLEL = 0,
  /* One recurrent step per prompt token (what decoding does). */
  DSSM_PREFILL_RECURRENT = 1,
  DSSM_PREFILL_MAX_ENUM = 0x7FFFFFFF /* not a mode; as DSSM_DEVICE_MAX_ENUM */
} dssm_prefill_mode;

dssm_status dssm_session_create(dssm_module *module, dssm_device device,
                                int32_t batch, dssm_session **out);
void dssm_session_release(dssm_session *session);

int32_t dssm_session_batch(const dssm_session *session);
/* The device the session runs on (never DSSM_DEVICE_AUTO). */
dssm_device dssm_session_device(const dssm_session *session);
/* For a session created with DSSM_DEVICE_AUTO that runs on the CPU: why
 * not CUDA (no driver, no GPU, no CUDA code in the module); else "". */
const char *dssm_session_device_note(const dssm_session *session);

/* Runs the prompt tokens[i][0 .. lengths[i]) of every slot i < batch through
 * the model, continuing from the slot's state and position. A slot with
 * length 0 is left as it is. Afterwards dssm_session_logits gives, per slot,
 * the logits of each of its prompt positions. */
dssm_status dssm_session_prefill(dssm_session *session,
                                 const int64_t *const *tokens,
                                 const int64_t *lengths,
                                 dssm_prefill_mode mode);

/* Advances every slot i with active[i] != 0 (all slots when active is NULL)
 * by one token, tokens[i]. Afterwards dssm_session_logits gives one row
 * for each advanced slot. */
dssm_status dssm_session_step(dssm_session *session, const int64_t *tokens,
                              const uint8_t *active);

/* The logits of the slot's last prefill or step: *rows rows of vocab_size
 * floats, valid until the next call on the session. */
dssm_status dssm_session_logits(const dssm_session *session, int32_t slot,
                                const float **logits, int64_t *rows);

/* The number of tokens the slot has consumed since its last reset. */
dssm_status dssm_session_position(const dssm_session *session, int32_t slot,
                                  int64_t *position);

/* --- recurrent state of one sequence ------------------------------------ */
/* The bytes a saved state takes (every state tensor and the position). */
size_t dssm_session_state_size(const dssm_session *session);
/* Back to position 0 and zero state. */
dssm_status dssm_session_reset(dssm_session *session, int32_t slot);
/* Copies the slot's state into buffer[0 .. size), size == state_size. */
dssm_status dssm_session_save_state(const dssm_session *session, int32_t slot,
                                    void *buffer, size_t size);
/* Replaces the slot's state with one saved by dssm_session_save_state (from
 * any slot of any session over the same module). */
dssm_status dssm_session_restore_state(dssm_session *session, int32_t slot,
                                       const void *buffer, size_t size);

#pragma GCC visibility pop

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DENSESSM_RUNTIME_DENSESSM_RUNTIME_H */
