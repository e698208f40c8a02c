/** containerd task event topics; the strings are matched exactly by subscribers. */
export const Topic = {
  TaskCreate: "/tasks/create",
  TaskStart: "/tasks/start",
  TaskExit: "/tasks/exit",
  TaskDelete: "/tasks/delete",
  TaskExecAdded: "/tasks/exec-added",
  TaskExecStarted: "/tasks/exec-started",
  TaskPaused: "/tasks/paused",
  TaskResumed: "/tasks/resumed",
  TaskOOM: "/tasks/oom",
  TaskCheckpointed: "/tasks/checkpointed",
} as const;
export type Topic = (typeof Topic)[keyof typeof Topic];
