//! Jobs a stopped daemon left unfinished, and stopping or giving up a job.

use super::*;

impl Control {
    /// An interrupted job's record, or why there is none.
    pub(super) fn interrupted(&self, id: u64) -> Result<Record, String> {
        let j = self
            .journal
            .as_ref()
            .ok_or("no job journal in the disk dir: there are no interrupted jobs")?;
        if self.job_running(id) {
            return Err(format!(
                "job {id} is running; `mavfsctl cancel {id}` stops it"
            ));
        }
        match j.get(id) {
            Some(r) if self.is_stopped(&r) => Ok(r),
            Some(_) => Err(format!(
                "job {id} is running on another mount of this disk dir"
            )),
            None => Err(format!(
                "no job {id} (see `mavfsctl jobs`; a job that ended is not kept)"
            )),
        }
    }

    /// Stops a running job (and waits until it has cleaned up), or gives up an interrupted
    /// one: its temporary files go, what arrived whole stays.
    pub(super) fn cancel_job(&self, id: u64) -> Result<String, JobError> {
        let job = self.running.lock().get(&id).map(|r| r.job.clone());
        if let Some(job) = job {
            job.state.cancel.store(true, Ordering::Relaxed);
            while self.job_running(id) {
                std::thread::sleep(Duration::from_millis(10));
            }
            return Ok(format!(
                "job {id} cancelled; nothing half-written was left behind"
            ));
        }
        let one = self.starting.lock();
        let r = self.interrupted(id).map_err(JobError::Failed)?;
        let n = self.sweep(&r);
        if let Some(j) = &self.journal {
            j.end(id);
        }
        drop(one);
        let what = match r.phase {
            Phase::Copying => "the source is whole",
            Phase::Removing => "everything had been copied and the source was partly removed",
        };
        Ok(format!(
            "job {id} ({} {} -> {}) given up: {n} temporary files removed; files that had arrived whole stay; {what}",
            r.op, r.copy.src, r.copy.dst
        ))
    }
}
