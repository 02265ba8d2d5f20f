# SPDX-License-Identifier: GPL-2.0-or-later
# plot.gp - the chart of bench/run.sh: ratio to base per configuration, one bar
# per link and workload (higher is better; 1 = as fast as without redirection).
#
#   gnuplot -e "data='RATIOS'; out='PNG'; title='TEXT'" bench/plot.gp
#
# RATIOS is the chart data bench/report.py writes: a header row of series names,
# then one row per configuration ("?" where a cell was not measured).
set terminal pngcairo size 1200,600 font "sans,10"
set output out
set title title
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "ratio to base (higher is better; ping-pong: base median / median)"
set yrange [0:*]
set grid ytics
set key outside right top vertical
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "#555555"
columns = int(system("head -n 1 '" . data . "' | sed 's/\"[^\"]*\"/x/g' | wc -w"))
plot for [i=2:columns] data using i:xtic(1) title columnheader(i)
