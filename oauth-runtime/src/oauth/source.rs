//! Each installation's integrations: [`IntegrationSource`], the app's answer to "what are
//! installation X's integrations" (its `oauth_iparams` differ: FreshID's token URL holds the
//! organisation's domain), and [`IntegrationMap`], a fixed answer.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::IntegrationConfig;
use crate::keyed::{KeyedLocks, let_oldest_go};
use crate::tokens::{InstallationId, TokenError};

/// What [`IntegrationSource::integrations`] returns.
pub type IntegrationsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<IntegrationConfig>, TokenError>> + Send + 'a>>;

/// Where the integrations of a named installation come from, when they differ from one
/// installation to another. The app implements it over its own records of installations
/// (each installation's `oauth_iparams`, then `IntegrationSpec::configure`); the runtime asks
/// it at an installation's first need, keeps the answer a while
/// ([`crate::RuntimeBuilder::integration_source`]), and asks again after
/// [`crate::Runtime::forget_integrations`] (a reinstall, changed settings).
///
/// Without a source, every installation uses the integrations given to the builder.
pub trait IntegrationSource: Send + Sync + 'static {
    /// The integrations of `installation`; none when it is unknown.
    fn integrations<'a>(&'a self, installation: &'a InstallationId) -> IntegrationsFuture<'a>;
}

/// A fixed [`IntegrationSource`]: the integrations of each installation, given up front.
#[derive(Clone, Default)]
pub struct IntegrationMap {
    by_installation: HashMap<InstallationId, Vec<IntegrationConfig>>,
}

impl IntegrationMap {
    /// An empty map.
    pub fn new() -> Self {
        IntegrationMap::default()
    }

    /// Adds `integration` to `installation`'s (one per name; a later one replaces).
    pub fn with(
        mut self,
        installation: impl Into<InstallationId>,
        integration: IntegrationConfig,
    ) -> Self {
        let configs = self.by_installation.entry(installation.into()).or_default();
        configs.retain(|c| c.name != integration.name);
        configs.push(integration);
        self
    }
}

impl std::fmt::Debug for IntegrationMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.by_installation.iter()).finish()
    }
}

impl IntegrationSource for IntegrationMap {
    fn integrations<'a>(&'a self, installation: &'a InstallationId) -> IntegrationsFuture<'a> {
        let found = self
            .by_installation
            .get(installation)
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { Ok(found) })
    }
}

/// One installation's integrations by name.
pub(crate) type Configs = Arc<HashMap<String, Arc<IntegrationConfig>>>;

/// The integrations the runtime knows: the builder's (the default installation's, and every
/// installation's without a source), and the named installations' from the source, kept for
/// `ttl` and at most `capacity` installations.
pub(crate) struct Integrations {
    fixed: Configs,
    source: Option<Arc<dyn IntegrationSource>>,
    ttl: Duration,
    capacity: usize,
    loaded: Mutex<HashMap<InstallationId, (Configs, Instant)>>,
    /// The installations being asked about now, each once however many calls need it.
    asking: KeyedLocks<InstallationId>,
}

impl Integrations {
    pub(crate) fn new(
        fixed: HashMap<String, IntegrationConfig>,
        source: Option<Arc<dyn IntegrationSource>>,
        ttl: Duration,
        capacity: usize,
    ) -> Self {
        Integrations {
            fixed: Arc::new(fixed.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()),
            source,
            ttl,
            capacity: capacity.max(1),
            loaded: Mutex::new(HashMap::new()),
            asking: KeyedLocks::default(),
        }
    }

    /// The builder's integrations.
    pub(crate) fn fixed(&self) -> &HashMap<String, Arc<IntegrationConfig>> {
        &self.fixed
    }

    /// Whether `installation` takes its integrations from the source.
    fn uses_source(&self, installation: &InstallationId) -> bool {
        self.source.is_some() && !installation.is_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<InstallationId, (Configs, Instant)>> {
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `installation`'s integrations as known now, without asking the source: the fixed ones,
    /// or the source's answer while it is kept.
    pub(crate) fn known(&self, installation: &InstallationId) -> Option<Configs> {
        if !self.uses_source(installation) {
            return Some(self.fixed.clone());
        }
        let loaded = self.lock();
        let (configs, at) = loaded.get(installation)?;
        (at.elapsed() < self.ttl).then(|| configs.clone())
    }

    /// The integration `name` of `installation`, as known now.
    pub(crate) fn get(
        &self,
        installation: &InstallationId,
        name: &str,
    ) -> Option<Arc<IntegrationConfig>> {
        if !self.uses_source(installation) {
            return self.fixed.get(name).cloned();
        }
        // The source's last answer even past its time (a refresh that loaded it moments ago
        // must find it after its waits); `load` decides when to ask again.
        let loaded = self.lock();
        loaded.get(installation)?.0.get(name).cloned()
    }

    /// Makes `installation`'s integrations known, asking the source when they are not (or
    /// no longer) kept.
    pub(crate) async fn load(&self, installation: &InstallationId) -> Result<Configs, TokenError> {
        if let Some(configs) = self.known(installation) {
            return Ok(configs);
        }
        let Some(source) = &self.source else {
            return Ok(self.fixed.clone());
        };
        // One question per installation at a time: the calls that need it meanwhile wait for
        // its answer instead of asking too.
        let _turn = self.asking.lock(installation).await;
        if let Some(configs) = self.known(installation) {
            return Ok(configs);
        }
        let answer = source.integrations(installation).await;
        let answer = answer.map_err(|error| {
            TokenError::new(format!(
                "the integrations of {installation} could not be had: {error}"
            ))
        })?;
        let configs: Configs = Arc::new(
            answer
                .into_iter()
                .map(|config| (config.name.clone(), Arc::new(config)))
                .collect(),
        );
        let mut loaded = self.lock();
        if loaded.len() >= self.capacity && !loaded.contains_key(installation) {
            // Expired answers go, then the oldest tenth: asked again when needed, and a full
            // cache is not scanned at every new installation.
            let ttl = self.ttl;
            loaded.retain(|_, (_, at)| at.elapsed() < ttl);
            let_oldest_go(&mut loaded, self.capacity, |(_, at)| *at);
        }
        loaded.insert(installation.clone(), (configs.clone(), Instant::now()));
        Ok(configs)
    }

    /// Forgets what the source said of `installation`: it is asked again at the next need.
    pub(crate) fn forget(&self, installation: &InstallationId) {
        self.lock().remove(installation);
    }

    /// How many installations' answers are kept.
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        asked: AtomicUsize,
    }

    impl IntegrationSource for Counting {
        fn integrations<'a>(&'a self, installation: &'a InstallationId) -> IntegrationsFuture<'a> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            let url = format!("https://{}.example.com/token", installation.as_str());
            Box::pin(async move {
                // An answer takes a while, as a database's does.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(vec![
                    IntegrationConfig::new("crm", &url, "client", "secret")
                        .map_err(|e| TokenError::new(e.to_string()))?,
                ])
            })
        }
    }

    fn integrations(ttl: Duration, capacity: usize) -> (Arc<Counting>, Integrations) {
        let source = Arc::new(Counting {
            asked: AtomicUsize::new(0),
        });
        let fixed = HashMap::from([(
            "crm".to_string(),
            IntegrationConfig::new("crm", "https://fixed.example.com/token", "c", "s").unwrap(),
        )]);
        let integrations = Integrations::new(fixed, Some(source.clone()), ttl, capacity);
        (source, integrations)
    }

    #[tokio::test]
    async fn named_installations_are_asked_once_while_kept_and_the_default_never() {
        let (source, integrations) = integrations(Duration::from_secs(60), 10);
        let acme = InstallationId::new("acme");
        assert!(integrations.get(&acme, "crm").is_none(), "not asked yet");
        integrations.load(&acme).await.unwrap();
        integrations.load(&acme).await.unwrap();
        assert_eq!(source.asked.load(Ordering::SeqCst), 1);
        let config = integrations.get(&acme, "crm").unwrap();
        assert_eq!(config.token_url.host_str(), Some("acme.example.com"));
        let default = integrations.get(&InstallationId::default(), "crm").unwrap();
        assert_eq!(default.token_url.host_str(), Some("fixed.example.com"));
        integrations.forget(&acme);
        integrations.load(&acme).await.unwrap();
        assert_eq!(source.asked.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn answers_expire_and_their_number_is_bounded() {
        let (source, integrations) = integrations(Duration::from_millis(30), 3);
        for id in ["a", "b", "c", "d", "e"] {
            integrations.load(&InstallationId::new(id)).await.unwrap();
        }
        assert_eq!(integrations.kept(), 3);
        tokio::time::sleep(Duration::from_millis(40)).await;
        // Past its time an answer still serves, until the next load asks again.
        assert!(integrations.get(&InstallationId::new("e"), "crm").is_some());
        assert!(integrations.known(&InstallationId::new("e")).is_none());
        integrations.load(&InstallationId::new("e")).await.unwrap();
        assert_eq!(source.asked.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_needs_of_an_installation_ask_once() {
        let (source, integrations) = integrations(Duration::from_secs(60), 10);
        let integrations = Arc::new(integrations);
        let mut asking = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let integrations = integrations.clone();
            asking.spawn(async move {
                integrations
                    .load(&InstallationId::new("acme"))
                    .await
                    .map(|c| c.len())
            });
        }
        while let Some(done) = asking.join_next().await {
            assert_eq!(done.unwrap().unwrap(), 1);
        }
        assert_eq!(source.asked.load(Ordering::SeqCst), 1);
    }
}
