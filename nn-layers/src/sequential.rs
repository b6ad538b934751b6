//! `Sequential`: layers in a row, shape-checked when built (the seed's `Unit`).

use std::fmt;

use core_tensor::Tensor;
use ndarray::{Axis, Slice};

use crate::error::{LayerError, Result};
use crate::layer::{Layer, Mode, bad_input};
use crate::spec::{LayerSpec, NamedLayerSpec, NetworkSpec};
use crate::state::{NamedState, Visitor, VisitorMut, visit_child, visit_child_mut};
use crate::workspace::Workspace;

/// In eval mode a [`Sequential`] runs batches larger than this through its layers in slices of
/// this many samples (a multiple of the kernels' chunk of 8 images): the same outputs, with
/// intermediate tensors a few megabytes in size instead of tens.
pub const EVAL_SLICE: usize = 128;

/// The most dimensions (batch included) of an output that eval mode runs in slices.
const MAX_SLICED_RANK: usize = 8;

/// Layers applied one after the other, checked for shape as they are added.
///
/// Built for the shape of one input sample (no batch dimension): every [`Sequential::add`] asks
/// the new layer for its output shape, so a mismatch is an error naming the layer's position,
/// the layer, and both shapes, before any data flows. Parameters and buffers carry path names
/// (`0.weight`, `3.running_mean`, `2.0.bias` for nested networks), as PyTorch's `state_dict`.
///
/// PyTorch equivalent: `torch.nn.Sequential(...)`.
///
/// ```
/// use nn_layers::{Conv2DConfig, Flatten, Layer, LinearConfig, Mode, Relu, Sequential};
/// use core_tensor::random::seeded_rng;
/// let rng = &mut seeded_rng(0);
/// let net = Sequential::new(&[1, 8, 8])
///     .add(Conv2DConfig::new(1, 2, [3, 3]).init(rng).unwrap()).unwrap()
///     .add(Relu::new()).unwrap()
///     .add(Flatten::new()).unwrap();
/// assert_eq!(net.output_sample_shape(), &[72]);
/// // A layer that does not fit is refused, naming both shapes.
/// let err = net.add(LinearConfig::new(50, 10).init(rng).unwrap()).unwrap_err();
/// assert!(err.to_string().contains("layer 3 (Linear(50, 10))") && err.to_string().contains("[72]"));
/// ```
#[derive(Debug)]
pub struct Sequential {
    input_shape: Vec<usize>,
    layers: Vec<Box<dyn Layer>>,
    /// The name each layer's state goes under (by default its position).
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    /// The workspace of calls that pass tensors by reference ([`Layer::forward`],
    /// [`Layer::backward`]); [`Layer::forward_owned`] uses the caller's.
    ws: Workspace,
}

impl Sequential {
    /// An empty network for input samples of `input_shape` (e.g. `[1, 28, 28]`).
    pub fn new(input_shape: &[usize]) -> Self {
        Self {
            input_shape: input_shape.to_vec(),
            layers: Vec::new(),
            names: Vec::new(),
            shapes: Vec::new(),
            ws: Workspace::new(),
        }
    }

    /// Appends a layer after checking that it takes the current output shape.
    ///
    /// # Errors
    /// [`LayerError::InLayer`] naming the layer's position, the layer and the shapes.
    // `add` as in Keras' `model.add(layer)`; it is not arithmetic, so `std::ops::Add` would mislead.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Layer + 'static) -> Result<Self> {
        self.push(Box::new(layer))?;
        Ok(self)
    }

    /// Appends a boxed layer after checking its input shape.
    ///
    /// # Errors
    /// As [`Sequential::add`].
    pub fn push(&mut self, layer: Box<dyn Layer>) -> Result<()> {
        let name = self.layers.len().to_string();
        self.push_named(&name, layer)
    }

    /// Appends a boxed layer whose state goes under `name` (`conv1` gives `conv1.weight`), as in
    /// PyTorch's `nn.Sequential(OrderedDict(...))`.
    ///
    /// # Errors
    /// As [`Sequential::add`]; a name that is not 1 to 64 letters, digits or `_`, or that
    /// another layer has.
    pub fn push_named(&mut self, name: &str, layer: Box<dyn Layer>) -> Result<()> {
        let index = self.layers.len();
        let valid = !name.is_empty()
            && name.len() <= crate::spec::MAX_NAME_LEN
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || self.names.iter().any(|n| n == name) {
            let message = if valid {
                "another layer has this name"
            } else {
                "a name is 1 to 64 letters, digits or `_`"
            };
            return Err(in_layer(
                index,
                layer.as_ref(),
                LayerError::State {
                    what: name.chars().take(64).collect(),
                    message: message.into(),
                },
            ));
        }
        let out = layer
            .output_shape(self.output_sample_shape())
            .map_err(|e| in_layer(index, layer.as_ref(), e))?;
        self.layers.push(layer);
        self.names.push(name.to_string());
        self.shapes.push(out);
        Ok(())
    }

    /// The name of each layer, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The shape of one input sample.
    pub fn input_sample_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The shape of one output sample.
    pub fn output_sample_shape(&self) -> &[usize] {
        self.shapes.last().map_or(&self.input_shape, Vec::as_slice)
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The layers, mutably.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The network as data, for model files and exporters.
    ///
    /// # Errors
    /// A layer without a [`LayerSpec`] (see [`Layer::spec`]), named with its position, or layers
    /// named other than by their positions (a network file names its top-level layers by
    /// position; nest named layers in a [`LayerSpec::Sequential`]).
    pub fn network_spec(&self) -> Result<NetworkSpec> {
        let layers = self.layer_specs()?;
        if let Some((i, l)) = layers
            .iter()
            .enumerate()
            .find(|(i, l)| l.name != i.to_string())
        {
            return Err(in_layer(
                i,
                self.layers[i].as_ref(),
                LayerError::State {
                    what: l.name.clone(),
                    message: "the top level of a network names its layers by position; nest \
                              named layers in a Sequential"
                        .into(),
                },
            ));
        }
        Ok(NetworkSpec {
            input: self.input_shape.clone(),
            layers: layers.into_iter().map(|l| l.layer).collect(),
        })
    }

    /// Every layer's spec with its name.
    pub(crate) fn layer_specs(&self) -> Result<Vec<NamedLayerSpec>> {
        self.layers
            .iter()
            .zip(&self.names)
            .enumerate()
            .map(|(i, (l, name))| {
                let spec = l.spec().ok_or_else(|| {
                    in_layer(
                        i,
                        l.as_ref(),
                        LayerError::State {
                            what: l.describe(),
                            message: "this layer has no spec: a layer of your own gets one by \
                                      returning LayerSpec::Custom (see nn_layers::registry)"
                                .into(),
                        },
                    )
                })?;
                Ok(NamedLayerSpec::new(name.clone(), spec))
            })
            .collect()
    }

    /// The layers in order on `x`, each taking the last one's output by value.
    fn run_layers(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        let mut h = x;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            h = layer
                .forward_owned(h, mode, ws)
                .map_err(|e| in_layer(i, layer.as_ref(), e))?;
        }
        Ok(h)
    }

    /// Runs `f` with the network's own workspace (for the calls by reference).
    fn with_own_workspace<T>(&mut self, f: impl FnOnce(&mut Self, &mut Workspace) -> T) -> T {
        let mut ws = std::mem::take(&mut self.ws);
        let out = f(self, &mut ws);
        self.ws = ws;
        out
    }

    fn check_input(&self, x: &Tensor) -> Result<()> {
        if x.ndim() == self.input_shape.len() + 1 && x.shape()[1..] == self.input_shape[..] {
            return Ok(());
        }
        Err(bad_input(
            self,
            &format!("(N, {})", join(&self.input_shape)),
            x.shape(),
        ))
    }
}

fn in_layer(index: usize, layer: &dyn Layer, e: LayerError) -> LayerError {
    LayerError::InLayer {
        index,
        layer: layer.describe(),
        source: Box::new(e),
    }
}

fn join(shape: &[usize]) -> String {
    shape
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Layer for Sequential {
    /// `Some` when every layer has a spec.
    fn spec(&self) -> Option<LayerSpec> {
        self.layer_specs().ok().map(LayerSpec::Sequential)
    }

    fn describe(&self) -> String {
        format!("Sequential({} layers)", self.layers.len())
    }

    fn forward(&mut self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        self.check_input(x)?;
        self.with_own_workspace(|net, ws| {
            let x = ws.copy_of(x);
            net.forward_owned(x, mode, ws)
        })
    }

    /// Each layer takes the previous one's output by value (so ReLU works in place). In eval
    /// mode a batch of more than [`EVAL_SLICE`] samples goes through in slices of that many:
    /// nothing is kept between samples in eval mode, so the result is the same, bit for bit,
    /// and the intermediate tensors stay small enough for the caches.
    fn forward_owned(&mut self, x: Tensor, mode: Mode, ws: &mut Workspace) -> Result<Tensor> {
        self.check_input(&x)?;
        let n = x.shape()[0];
        if mode == Mode::Train || n <= EVAL_SLICE {
            return self.run_layers(x, mode, ws);
        }
        let sample = self.output_sample_shape();
        let mut shape = [0_usize; MAX_SLICED_RANK];
        let Some(dims) = shape.get_mut(..=sample.len()) else {
            return Err(bad_input(self, "an output of at most 7 dimensions", sample));
        };
        dims[0] = n;
        dims[1..].copy_from_slice(sample);
        let mut out = ws.tensor(dims);
        let dims = &*dims;
        for start in (0..n).step_by(EVAL_SLICE) {
            let rows = Slice::from(start..(start + EVAL_SLICE).min(n));
            let part = ws.copy_of(&x.slice_axis(Axis(0), rows));
            let y = self.run_layers(part, mode, ws)?;
            if y.shape()[1..] != dims[1..] {
                // A layer whose output is not the shape it declared.
                return Err(LayerError::Shape {
                    layer: self.describe(),
                    expected: format!("slices of output (N, {})", join(&dims[1..])),
                    got: y.shape().to_vec(),
                });
            }
            out.slice_axis_mut(Axis(0), rows).assign(&y);
            ws.recycle(y);
        }
        ws.recycle(x);
        Ok(out)
    }

    fn backward(&mut self, grad: &Tensor) -> Result<Tensor> {
        self.with_own_workspace(|net, ws| {
            let grad = ws.copy_of(grad);
            net.backward_owned(grad, ws)
        })
    }

    fn backward_owned(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<Tensor> {
        let mut g = grad;
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            g = layer
                .backward_owned(g, ws)
                .map_err(|e| in_layer(i, layer.as_ref(), e))?;
        }
        Ok(g)
    }

    /// Like `backward`, but the first layer skips dL/dx (nobody needs the gradient of the data).
    fn backward_params_only(&mut self, grad: Tensor, ws: &mut Workspace) -> Result<()> {
        let mut g = grad;
        for (i, layer) in self.layers.iter_mut().enumerate().skip(1).rev() {
            g = layer
                .backward_owned(g, ws)
                .map_err(|e| in_layer(i, layer.as_ref(), e))?;
        }
        match self.layers.first_mut() {
            Some(layer) => layer
                .backward_params_only(g, ws)
                .map_err(|e| in_layer(0, layer.as_ref(), e)),
            None => {
                ws.recycle(g);
                Ok(())
            }
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input == self.input_shape.as_slice() {
            Ok(self.output_sample_shape().to_vec())
        } else {
            Err(bad_input(
                self,
                &format!("({})", join(&self.input_shape)),
                input,
            ))
        }
    }

    fn visit<'a>(&'a self, visitor: &mut Visitor<'_, 'a>) {
        for (name, layer) in self.names.iter().zip(&self.layers) {
            visit_child(name, layer.as_ref(), visitor);
        }
    }

    fn visit_mut<'a>(&'a mut self, visitor: &mut VisitorMut<'_, 'a>) {
        for (name, layer) in self.names.iter().zip(&mut self.layers) {
            visit_child_mut(name, layer.as_mut(), visitor);
        }
    }
}

/// The summary: every layer with its output shape and parameter count, as PyTorch and the seed
/// print them.
impl fmt::Display for Sequential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        let width = names.iter().map(String::len).max().unwrap_or(5).max(5);
        writeln!(f, "Sequential: input (N, {})", join(&self.input_shape))?;
        writeln!(
            f,
            "{:>3}  {:width$}  {:<16}  {:>8}",
            "#", "layer", "output shape", "params"
        )?;
        for (i, ((name, layer), shape)) in
            names.iter().zip(&self.layers).zip(&self.shapes).enumerate()
        {
            let shape = format!("(N, {})", join(shape));
            writeln!(
                f,
                "{i:>3}  {name:width$}  {shape:<16}  {:>8}",
                layer.num_params()
            )?;
        }
        write!(f, "Trainable parameters: {}", self.num_params())
    }
}
