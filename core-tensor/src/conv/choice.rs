//! Which kernel computes each part of a convolution, and every threshold of that choice.
//!
//! Each part (forward, input gradient, weight gradient) is chosen on its own, in two steps: the
//! kernels that can compute the geometry at all (their `supports`), then among those the one
//! that costs least, by the thresholds below. The thresholds were set by measurement
//! (`cargo bench -p benches --bench conv_shapes`); they depend on the geometry only, never on
//! the batch size or the thread count, so the same layer always runs the same kernels.

use crate::conv::{dilated, direct, filter_lanes, filter_lanes_forward, gemm, winograd};
use crate::geometry::Geometry;

/// The direct kernels pay where a filter's window ((C/G)·KH·KW values) is at most this long:
/// the window matrix would be as many times the input, and cost more to lay out and pack than
/// its product. Longer windows go to the GEMM, which blocks for the caches.
pub(crate) const DIRECT_MAX_PATCH: usize = 32;

/// The direct kernels pay where output rows are at least this long (two blocks of lanes: with
/// one, the overlapping last block recomputes too much).
pub(crate) const DIRECT_MIN_ROW: usize = 2 * direct::LANES;

/// The direct kernels pay where a group has at most this many filters (one block of sums in
/// registers); with more, each block reads the image again and the GEMM wins.
pub(crate) const DIRECT_MAX_GROUP_FILTERS: usize = 4;

/// The filter-lane weight gradient pays with at most this many filters (one block of lanes);
/// more rows amortise the GEMM's packing of the windows.
pub(crate) const FILTER_LANES_MAX_FILTERS: usize = filter_lanes::FILTERS;

/// Output planes (OH·OW) at least this large get one GEMM per image, written in place; smaller
/// ones share a GEMM per chunk of images (a GEMM with a handful of columns is mostly overhead).
/// The filter-lane weight gradient pays only on planes this large.
pub(crate) const GEMM_PER_IMAGE_PLANE: usize = 64;

/// The filter-lane weight gradient pays where a filter's window ((C/G)·KH·KW values) is at
/// least this long; with shorter windows the window matrix is small and its GEMM cheaper (a 1 ->
/// 16 channel 3x3 stem on 28x28 measured twice as fast through the GEMM).
pub(crate) const FILTER_LANES_MIN_PATCH: usize = 32;

/// Winograd (F(2x2, 3x3) or F(2x2, 5x5)) pays where the output plane is at least this many
/// pixels on each side: on smaller planes the 2x2 tiles overhang (7x7 outputs take 16 tiles of 4 pixels, 64
/// computed for 49) and the transforms weigh more than the products saved (64 -> 64 channels on
/// 7x7 measured 25 % slower than the GEMM, on 14x14 25 % faster).
pub(crate) const WINOGRAD_MIN_OUTPUT_SIDE: usize = 8;

/// Winograd pays where the input and output have at least this many channels:
/// with fewer, its transforms cost about what the products it saves do (16 -> 16 channels on
/// 16x16 images measured 15 % slower than the GEMM, 32 -> 32 10 % faster).
pub(crate) const WINOGRAD_MIN_CHANNELS: usize = 32;

/// The filter-lane forward pays where a filter's window ((C/G)·KH·KW values) is at least this
/// long: the shortest measured, a 1 -> 6 and a 1 -> 32 channel 5x5 layer on 28x28, ran as fast
/// as the GEMM or faster (a 3 -> 64 channel 3x3 layer, 27 values, 1.4 times slower, but there
/// the GEMM has 64 rows).
pub(crate) const FILTER_LANES_FORWARD_MIN_PATCH: usize = 25;

/// The filter-lane forward pays where a filter's window is at most this long: longer windows
/// are many times the input, which the GEMM reads from a packed copy that stays in the caches
/// (a 64 -> 128 channel 3x3 layer, 576 values, measured 1.2 times slower than the GEMM).
pub(crate) const FILTER_LANES_FORWARD_MAX_PATCH: usize = 256;

/// The filter-lane forward pays where a group has at most this many filters: with more, the
/// GEMM's rows amortise its packing of the windows (3 -> 64 channels, 3x3, measured 1.4 times
/// slower than the GEMM; 1 -> 32 channels, 5x5, as fast).
pub(crate) const FILTER_LANES_FORWARD_MAX_FILTERS: usize = 32;

/// The forward kernel of a [`Conv2dPlan`](crate::Conv2dPlan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardKernel {
    /// Stride 1 only: the padded images read in place, vectorised along output rows.
    Direct,
    /// 3x3 or 5x5 kernels, stride 1, no dilation, one group: Winograd's F(2x2, 3x3) (16 GEMMs
    /// over transformed 4x4 blocks, 2.25 times fewer multiply-adds) or F(2x2, 5x5) (36 GEMMs
    /// over 6x6 blocks, 2.78 times fewer).
    Winograd,
    /// Any geometry: the window matrix of each chunk of images, one GEMM per group.
    Gemm,
    /// Stride 1, a kernel at most 8 wide, output rows at least 5 wide (any dilation and
    /// groups): the padded images read in place, vectorised over the filters (16 or 8 at a
    /// time) with a block of outputs' sums in registers.
    FilterLanes,
}

/// The input-gradient (dL/dx) kernel of a [`Conv2dPlan`](crate::Conv2dPlan). Both compute the
/// same sum, up to the order of floating-point additions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputGradKernel {
    /// The transposed convolution: `dcols = Wᵀ · dY` per group and chunk of images (GEMM), then
    /// each column added back onto the input window it came from (col2im).
    /// `N·F·OH·OW·(C/G)·KH·KW` multiply-adds, as many as the forward pass.
    Col2Im,
    /// The stride-dilated convolution, literally: [`dilate_pad`](crate::dilate_pad) the
    /// gradient, then a stride-1 convolution with [`rotate_kernel`](crate::rotate_kernel) (with
    /// the layer's dilation and groups), itself planned. `N·C·H·W·(F/G)·KH·KW` multiply-adds,
    /// the inserted zeros included.
    DilatedConv,
}

/// The weight- and bias-gradient kernel of a [`Conv2dPlan`](crate::Conv2dPlan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WeightGradKernel {
    /// Stride 1 only: the padded images read in place, vectorised along output rows.
    Direct,
    /// One group, a multiple of 16 filters: the padded images read in place, vectorised over
    /// the filters.
    FilterLanes,
    /// 3x3 or 5x5 kernels, stride 1, no dilation, one group: Winograd's F(2x2, 3x3) or
    /// F(2x2, 5x5) backwards, 16 or 36 GEMMs over the transformed images and output gradients.
    Winograd,
    /// Any geometry: `dW = dY · colsᵀ` per group and chunk of images.
    Gemm,
}

/// The three kernels of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kernels {
    /// Computes `y`.
    pub forward: ForwardKernel,
    /// Computes dL/dx.
    pub input_grad: InputGradKernel,
    /// Computes dL/dw and dL/db.
    pub weight_grad: WeightGradKernel,
}

impl Kernels {
    /// The cheapest kernels for `g`.
    pub(crate) fn choose(g: &Geometry) -> Self {
        Self {
            forward: forward_for(g),
            input_grad: input_grad_for(g),
            weight_grad: weight_grad_for(g),
        }
    }

    /// The first kernel of `self` that cannot compute `g`, by name, if any.
    pub(crate) fn unsupported(&self, g: &Geometry) -> Option<&'static str> {
        if self.forward == ForwardKernel::Direct && !direct::supports(g) {
            return Some(
                "ForwardKernel::Direct (needs stride 1, a kernel at most 8 wide and output rows of at least 8)",
            );
        }
        if self.forward == ForwardKernel::FilterLanes && !filter_lanes_forward::supports(g) {
            return Some(
                "ForwardKernel::FilterLanes (needs stride 1, a kernel at most 8 wide and output rows at least 5 wide)",
            );
        }
        if self.forward == ForwardKernel::Winograd && !winograd::supports(g) {
            return Some(
                "ForwardKernel::Winograd (needs a 3x3 or 5x5 kernel, stride 1, no dilation and one group)",
            );
        }
        match self.weight_grad {
            WeightGradKernel::Direct if !direct::supports(g) => Some(
                "WeightGradKernel::Direct (needs stride 1, a kernel at most 8 wide and output rows of at least 8)",
            ),
            WeightGradKernel::Winograd if !winograd::supports(g) => Some(
                "WeightGradKernel::Winograd (needs a 3x3 or 5x5 kernel, stride 1, no dilation and one group)",
            ),
            WeightGradKernel::FilterLanes if !filter_lanes::supports(g) => Some(
                "WeightGradKernel::FilterLanes (needs one group, a multiple of 16 filters and a kernel at most 8 wide)",
            ),
            _ => None,
        }
    }
}

/// Whether the direct kernels both can compute `g` and pay there.
fn direct_pays(g: &Geometry) -> bool {
    direct::supports(g)
        && g.patch_len() <= DIRECT_MAX_PATCH
        && g.output[1] >= DIRECT_MIN_ROW
        && g.group_filters() <= DIRECT_MAX_GROUP_FILTERS
}

/// Whether Winograd both can compute `g` and pays there.
fn winograd_pays(g: &Geometry) -> bool {
    winograd::supports(g)
        && g.channels >= WINOGRAD_MIN_CHANNELS
        && g.out_channels >= WINOGRAD_MIN_CHANNELS
        && g.output[0] >= WINOGRAD_MIN_OUTPUT_SIDE
        && g.output[1] >= WINOGRAD_MIN_OUTPUT_SIDE
}

/// Whether the filter-lane forward both can compute `g` and pays there:
/// - a dilation along the rows of 1 or 2: those are compiled in; others read the taps at
///   offsets known at run time (on a 16 -> 16 channel 3x3 layer with dilation 2, before that
///   was compiled in, 4 times slower than the GEMM);
/// - not a 1x1 kernel: its GEMM reads the image in place, with no window matrix to save (a
///   256 -> 64 channel 1x1 layer on 8x8 measured 1.4 times slower);
/// - windows and filters per group within the thresholds above;
/// - every block of lanes at least 3/4 full, with 8 lanes or 16: 6 to 8 filters per group, or
///   a multiple of 16 (the lanes past a group's last filter are computed and dropped).
fn filter_lanes_forward_pays(g: &Geometry) -> bool {
    let fg = g.group_filters();
    filter_lanes_forward::supports(g)
        && g.dilation[1] <= 2
        && !gemm::is_pointwise(g)
        && (FILTER_LANES_FORWARD_MIN_PATCH..=FILTER_LANES_FORWARD_MAX_PATCH)
            .contains(&g.patch_len())
        && fg <= FILTER_LANES_FORWARD_MAX_FILTERS
        && ((6..=8).contains(&fg) || fg.is_multiple_of(16))
}

fn forward_for(g: &Geometry) -> ForwardKernel {
    if direct_pays(g) {
        ForwardKernel::Direct
    } else if winograd_pays(g) {
        ForwardKernel::Winograd
    } else if filter_lanes_forward_pays(g) {
        ForwardKernel::FilterLanes
    } else {
        ForwardKernel::Gemm
    }
}

fn weight_grad_for(g: &Geometry) -> WeightGradKernel {
    if direct_pays(g) {
        WeightGradKernel::Direct
    } else if winograd_pays(g) {
        WeightGradKernel::Winograd
    } else if filter_lanes::supports(g)
        && g.out_channels <= FILTER_LANES_MAX_FILTERS
        && g.patch_len() >= FILTER_LANES_MIN_PATCH
        && g.out_plane() >= GEMM_PER_IMAGE_PLANE
    {
        WeightGradKernel::FilterLanes
    } else {
        WeightGradKernel::Gemm
    }
}

/// The dilated convolution where its inner stride-1 convolution takes the direct, the Winograd
/// or the filter-lane kernel (no window matrix and no scatter: a depthwise, few-filter or 3x3
/// layer), or where it has fewer multiply-adds (outputs that outnumber the inputs: large
/// padding); col2im otherwise, whose GEMM has (C/G)·KH·KW rows rather than C/G.
fn input_grad_for(g: &Geometry) -> InputGradKernel {
    let inner_direct = g.stride == [1, 1]
        && dilated::inner_geometry(g)
            .is_some_and(|i| direct_pays(&i) || winograd_pays(&i) || filter_lanes_forward_pays(&i));
    if inner_direct || g.input[0] * g.input[1] < g.out_plane() {
        InputGradKernel::DilatedConv
    } else {
        InputGradKernel::Col2Im
    }
}
