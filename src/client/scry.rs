//! Typed calls for scry's endpoints.

use std::path::Path;

use super::{Client, ClientError};
use crate::proto::scry::{
    FederatedAnswer, FederatedScryRequest, INDEX, IndexRequest, IndexStatus, SCRY, ScryAnswer,
    ScryRequest,
};

impl Client {
    /// `POST /api/scry` for one project.
    pub fn scry(&self, req: &ScryRequest) -> Result<ScryAnswer, ClientError> {
        self.post(SCRY, req)
    }

    /// `POST /api/scry` with `scope: "all"`: the daemon's federated search.
    pub fn scry_all(&self, req: &FederatedScryRequest) -> Result<FederatedAnswer, ClientError> {
        self.post(SCRY, req)
    }

    /// `POST /api/index`: start re-indexing `root` in the background.
    pub fn index_start(&self, root: &Path) -> Result<IndexStatus, ClientError> {
        self.index_request(&IndexRequest {
            project: root.to_string_lossy().into_owned(),
            rebuild: false,
            wait: false,
        })
    }

    /// `POST /api/index` with every option (rebuild, wait for the lexical phase).
    pub fn index_request(&self, req: &IndexRequest) -> Result<IndexStatus, ClientError> {
        self.post(INDEX, req)
    }

    /// `GET /api/index?project=ROOT`
    pub fn index_status(&self, root: &Path) -> Result<IndexStatus, ClientError> {
        let root = root.to_string_lossy();
        self.get(INDEX, &[("project", &root)])
    }
}
